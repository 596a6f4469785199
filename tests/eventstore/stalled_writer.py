"""A writer process that stops between inserting its events and committing them.

Run by the fault tests as a real OS process so that it can be SIGKILLed with its
documents inserted but not committed, as a crashed API worker would leave them:

    python -m tests.eventstore.stalled_writer STORE ORIGINATOR COUNT {before-commit|mid-insert}

It prints ``STALLED <first id> <last id>`` once it is stuck, then sleeps forever.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from eventsourcing.persistence import StoredEvent

from pulse.eventstore import MongoApplicationRecorder, MongoDatastore, StoreSettings
from pulse.eventstore.commit_log import Claim
from tests.eventstore.support import MONGO_URI, TEST_DATABASE


def main(store: str, originator: str, count: int, where: str) -> None:
    datastore = MongoDatastore(
        MONGO_URI, TEST_DATABASE, StoreSettings(insert_chunk_size=max(1, count // 2))
    )
    recorder = MongoApplicationRecorder(datastore, store)
    commit_log = recorder.writer.commit_log

    def stall(claim: Claim, *_: Any) -> None:
        print(f"STALLED {claim.base.hwm + 1} {claim.base.hwm + count}", flush=True)
        while True:
            time.sleep(60)

    if where == "before-commit":
        commit_log.seal = stall  # type: ignore[method-assign]
    else:
        commit_log.renew = stall  # type: ignore[method-assign]
    events = [
        StoredEvent(originator_id=originator, originator_version=v, topic="stalled", state=b"{}")
        for v in range(1, count + 1)
    ]
    recorder.insert_events(events)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4])
