"""Read models built from the event stream, run by the arq workers.

Each projection follows the ``PulseApplication`` notification log, applies the
events it knows to its own collections and records how far it has read in the
tracking collection. ``runner.catch_up_all`` is the entry point; the worker's
``run_projections`` job and ``pulse projections`` call it.
"""
