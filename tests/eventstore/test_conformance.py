"""The eventsourcing library's own persistence conformance suites, on real FerretDB.

Each class below runs, unchanged, a suite from ``eventsourcing.tests.persistence``
against the MongoDB persistence module; nothing in them is skipped or overridden
except the factory methods the suites ask for.
"""

from __future__ import annotations

from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    InfrastructureFactory,
    ProcessRecorder,
    TrackingRecorder,
)
from eventsourcing.tests.persistence import (
    AggregateRecorderTestCase,
    ApplicationRecorderTestCase,
    InfrastructureFactoryTestCase,
    NonInterleavingNotificationIDsBaseCase,
    ProcessRecorderTestCase,
    TrackingRecorderTestCase,
)
from eventsourcing.utils import Environment

from pulse.eventstore import (
    MongoAggregateRecorder,
    MongoApplicationRecorder,
    MongoDatastore,
    MongoFactory,
    MongoProcessRecorder,
    MongoTrackingRecorder,
)
from tests.eventstore.support import MONGO_URI, TEST_DATABASE, empty_database, fresh_datastore


class _OnFreshDatabase:
    datastore: MongoDatastore

    def setUp(self) -> None:
        self.datastore = fresh_datastore()
        super().setUp()  # type: ignore[misc]

    def tearDown(self) -> None:
        super().tearDown()  # type: ignore[misc]
        empty_database(self.datastore)
        self.datastore.close()


class TestMongoAggregateRecorder(_OnFreshDatabase, AggregateRecorderTestCase):
    def create_recorder(self) -> AggregateRecorder:
        recorder = MongoAggregateRecorder(self.datastore, "conformance_events")
        recorder.create_table()
        return recorder


class TestMongoApplicationRecorder(_OnFreshDatabase, ApplicationRecorderTestCase):
    def create_recorder(self) -> ApplicationRecorder:
        recorder = MongoApplicationRecorder(self.datastore, "conformance_events")
        recorder.create_table()
        return recorder

    def test_insert_subscribe(self) -> None:
        # The suite leaves subscriptions optional; Pulse's projections need them.
        self.optional_test_insert_subscribe()


class TestMongoTrackingRecorder(_OnFreshDatabase, TrackingRecorderTestCase):
    def create_recorder(self) -> TrackingRecorder:
        recorder = MongoTrackingRecorder(self.datastore, "conformance_tracking")
        recorder.create_table()
        return recorder


class TestMongoProcessRecorder(_OnFreshDatabase, ProcessRecorderTestCase):
    def create_recorder(self) -> ProcessRecorder:
        recorder = MongoProcessRecorder(self.datastore, "conformance_events")
        recorder.create_table()
        return recorder


class TestMongoNonInterleavingNotificationIDs(
    _OnFreshDatabase, NonInterleavingNotificationIDsBaseCase
):
    def create_recorder(self) -> ApplicationRecorder:
        recorder = MongoApplicationRecorder(self.datastore, "conformance_events")
        recorder.create_table()
        return recorder


class _CustomTrackingRecorder(MongoTrackingRecorder):
    pass


class TestMongoInfrastructureFactory(InfrastructureFactoryTestCase[MongoFactory]):
    def setUp(self) -> None:
        empty_database(fresh_datastore())
        self.env = Environment("TestCase")
        self.env[InfrastructureFactory.PERSISTENCE_MODULE] = "pulse.eventstore"
        self.env[MongoFactory.MONGO_URI] = MONGO_URI
        self.env[MongoFactory.MONGO_DATABASE] = TEST_DATABASE
        super().setUp()

    def tearDown(self) -> None:
        super().tearDown()
        empty_database(fresh_datastore())

    def expected_factory_class(self) -> type[MongoFactory]:
        return MongoFactory

    def expected_aggregate_recorder_class(self) -> type[AggregateRecorder]:
        return MongoAggregateRecorder

    def expected_application_recorder_class(self) -> type[ApplicationRecorder]:
        return MongoApplicationRecorder

    def expected_tracking_recorder_class(self) -> type[TrackingRecorder]:
        return MongoTrackingRecorder

    def tracking_recorder_subclass(self) -> type[TrackingRecorder]:
        return _CustomTrackingRecorder

    def expected_process_recorder_class(self) -> type[ProcessRecorder]:
        return MongoProcessRecorder


del AggregateRecorderTestCase
del ApplicationRecorderTestCase
del TrackingRecorderTestCase
del ProcessRecorderTestCase
del NonInterleavingNotificationIDsBaseCase
del InfrastructureFactoryTestCase
