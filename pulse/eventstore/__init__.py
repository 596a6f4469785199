"""MongoDB persistence module for the eventsourcing library.

Select it with ``PERSISTENCE_MODULE=pulse.eventstore``. It is the only package in
Pulse that knows how events are written; docs/architecture.md explains the layout
and the write protocol.
"""

from pulse.eventstore.aggregate_recorder import MongoAggregateRecorder
from pulse.eventstore.application_recorder import MongoApplicationRecorder
from pulse.eventstore.datastore import MongoDatastore, StoreSettings
from pulse.eventstore.factory import MongoFactory
from pulse.eventstore.process_recorder import MongoProcessRecorder
from pulse.eventstore.subscription import MongoSubscription
from pulse.eventstore.tracking_recorder import MongoTrackingRecorder

Factory = MongoFactory

__all__ = [
    "Factory",
    "MongoAggregateRecorder",
    "MongoApplicationRecorder",
    "MongoDatastore",
    "MongoFactory",
    "MongoProcessRecorder",
    "MongoSubscription",
    "MongoTrackingRecorder",
    "StoreSettings",
]
