"""The service layer: command handlers that load aggregates, call them and save them.

Each function takes the application, plain arguments and a ``CommandContext``, and
returns the state after the command, so the API can answer with it at once
(read-your-writes) while lists catch up through the projections.
"""
