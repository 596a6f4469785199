"""Background jobs run by arq; ``settings.WorkerSettings`` is the worker's entry point."""
