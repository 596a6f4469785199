"""LiveKit's webhooks turned into domain events, one module per kind of resource.

The intake (``intake.py``) verifies and parses a delivery, finds its project from the
room, and hands it to the handler registered for its event name in ``HANDLERS``;
whatever aggregates the handler returns are saved in one save with the delivery's
receipt, so a redelivered webhook changes nothing.
"""
