"""Event-store throughput: our MongoDB recorder beside the library's SQLite recorder.

Measures, for each backend in the same run:

- append throughput (events/s) with 1 and 10 concurrent writer threads, saving 1 and
  10 events per save, each case for a fixed duration;
- append throughput with 10 writer *processes* (MongoDB only: the library's SQLite
  recorder is one file with one writer, not a multi-process store);
- notification read throughput (events/s) reading a store of ``--read-events``
  events from start to end in pages of 500, as a projection catching up does.

Usage (services running, e.g. after ``make services``)::

    uv run python benchmarks/eventstore.py [--seconds 5] [--read-events 20000]

Prints a Markdown table; docs/performance.md records a run and the command.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import ApplicationRecorder, StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore

from pulse.eventstore import MongoApplicationRecorder, MongoDatastore

MONGO_URI = os.environ.get("PULSE_MONGO_URI", "mongodb://127.0.0.1:27017")
DATABASE = "pulse_benchmark_eventstore"
READ_PAGE = 500
STATE = b'{"name":"Acme","plan":"pro","actor":{"kind":"user","id":"u_123"},"ip":"127.0.0.1"}'


@dataclass(frozen=True)
class Result:
    backend: str
    case: str
    events: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def new_mongo_recorder(store: str) -> MongoApplicationRecorder:
    datastore = MongoDatastore(MONGO_URI, DATABASE)
    datastore.database.drop_collection(store)
    datastore.database.drop_collection(f"{store}_commits")
    recorder = MongoApplicationRecorder(datastore, store)
    recorder.create_table()
    return recorder


def new_sqlite_recorder(directory: str, name: str) -> SQLiteApplicationRecorder:
    datastore = SQLiteDatastore(db_name=os.path.join(directory, f"{name}.db"))
    recorder = SQLiteApplicationRecorder(datastore)
    recorder.create_table()
    return recorder


def save(recorder: ApplicationRecorder, events_per_save: int) -> None:
    originator = uuid.uuid4()
    recorder.insert_events(
        [
            StoredEvent(originator, v, "benchmark.Event", STATE)
            for v in range(1, events_per_save + 1)
        ]
    )


def append_with_threads(
    recorder: ApplicationRecorder, writers: int, events_per_save: int, seconds: float
) -> tuple[int, float]:
    deadline = time.monotonic() + seconds
    counts = [0] * writers

    def write(index: int) -> None:
        while time.monotonic() < deadline:
            save(recorder, events_per_save)
            counts[index] += events_per_save

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts), time.monotonic() - started


def _process_writer(
    store: str, events_per_save: int, start_at: float, seconds: float, out: Any
) -> None:
    recorder = MongoApplicationRecorder(MongoDatastore(MONGO_URI, DATABASE), store)
    time.sleep(max(0.0, start_at - time.time()))  # Everyone starts together.
    count = 0
    while time.time() < start_at + seconds:
        save(recorder, events_per_save)
        count += events_per_save
    out.put(count)


def append_with_processes(
    store: str, writers: int, events_per_save: int, seconds: float
) -> tuple[int, float]:
    new_mongo_recorder(store)
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    start_at = time.time() + 3.0  # Time for every process to connect first.
    processes = [
        context.Process(
            target=_process_writer, args=(store, events_per_save, start_at, seconds, queue)
        )
        for _ in range(writers)
    ]
    for process in processes:
        process.start()
    total = sum(queue.get(timeout=seconds + 120) for _ in processes)
    for process in processes:
        process.join()
    return total, seconds


def fill(recorder: ApplicationRecorder, events: int) -> None:
    batch = 100
    for _ in range(events // batch):
        save(recorder, batch)


def read_all(recorder: ApplicationRecorder) -> tuple[int, float]:
    started = time.monotonic()
    position, total = 0, 0
    while page := recorder.select_notifications(position, READ_PAGE, inclusive_of_start=False):
        total += len(page)
        position = page[-1].id
    return total, time.monotonic() - started


def run(seconds: float, read_events: int) -> list[Result]:
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as directory:
        backends: list[tuple[str, Callable[[str], ApplicationRecorder]]] = [
            ("MongoDB recorder on FerretDB", new_mongo_recorder),
            ("eventsourcing SQLite recorder", lambda name: new_sqlite_recorder(directory, name)),
        ]
        for backend, make in backends:
            for writers in (1, 10):
                for per_save in (1, 10):
                    recorder = make(f"bench_append_{writers}_{per_save}")
                    events, elapsed = append_with_threads(recorder, writers, per_save, seconds)
                    case = f"append, {writers} writer thread(s), {per_save} event(s)/save"
                    results.append(Result(backend, case, events, elapsed))
                    print(f"  {backend}: {case}: {events / elapsed:,.0f} events/s", flush=True)
            recorder = make("bench_read")
            fill(recorder, read_events)
            events, elapsed = read_all(recorder)
            case = f"read {read_events:,} notifications, pages of {READ_PAGE}"
            results.append(Result(backend, case, events, elapsed))
            print(f"  {backend}: {case}: {events / elapsed:,.0f} events/s", flush=True)
        for per_save in (1, 10):
            events, elapsed = append_with_processes("bench_processes", 10, per_save, seconds)
            case = f"append, 10 writer processes, {per_save} event(s)/save"
            results.append(Result("MongoDB recorder on FerretDB", case, events, elapsed))
            print(f"  MongoDB recorder on FerretDB: {case}: {events / elapsed:,.0f} events/s")
    MongoDatastore(MONGO_URI, DATABASE).client.drop_database(DATABASE)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each append case")
    parser.add_argument(
        "--read-events", type=int, default=20_000, help="store size for the read case"
    )
    args = parser.parse_args()
    print(f"# Event-store benchmark ({platform.python_version()}, {os.cpu_count()} CPUs)\n")
    started = time.monotonic()
    results = run(args.seconds, args.read_events)
    print("\n| backend | case | events | seconds | events/s |\n|---|---|---:|---:|---:|")
    for r in results:
        print(f"| {r.backend} | {r.case} | {r.events:,} | {r.seconds:.1f} | {r.rate:,.0f} |")
    print(f"\nTotal run time: {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
