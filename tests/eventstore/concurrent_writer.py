"""A writer process for the multi-process test: many small saves, then exit.

    python -m tests.eventstore.concurrent_writer STORE NAME SAVES

Each save holds 1 to 5 events of one new aggregate whose id is ``NAME-<n>``.
"""

from __future__ import annotations

import random
import sys

from eventsourcing.persistence import StoredEvent

from pulse.eventstore import MongoApplicationRecorder, MongoDatastore
from tests.eventstore.support import MONGO_URI, TEST_DATABASE


def main(store: str, name: str, saves: int) -> None:
    recorder = MongoApplicationRecorder(MongoDatastore(MONGO_URI, TEST_DATABASE), store)
    for n in range(saves):
        size = random.randint(1, 5)
        recorder.insert_events(
            [
                StoredEvent(f"{name}-{n}", version, "concurrent", str(size).encode())
                for version in range(1, size + 1)
            ]
        )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
