"""Aggregates and their events: pure Python on the eventsourcing library.

No I/O and no framework imports here; every event carries who did it (user or API
key), from where (IP, user agent) and the request id.
"""
