"""Translation of PyMongo errors into the eventsourcing library's persistence errors.

The library's applications and tests catch its own exception classes (for example
``IntegrityError`` on an optimistic-concurrency conflict), never the driver's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from eventsourcing.persistence import (
    DatabaseError,
    DataError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
)
from pymongo import errors as mongo_errors

DUPLICATE_KEY_CODES = frozenset({11000, 11001, 12582})


def is_duplicate_key(error: mongo_errors.PyMongoError) -> bool:
    """True when a write failed only because a unique key was already taken.

    Decided on server error codes, never on message text, so it holds for
    MongoDB and FerretDB alike, for single writes and inside bulk writes.
    """
    if isinstance(error, mongo_errors.DuplicateKeyError):
        return True
    if isinstance(error, mongo_errors.BulkWriteError):
        write_errors = error.details.get("writeErrors", [])
        return (
            bool(write_errors)
            and all(e.get("code") in DUPLICATE_KEY_CODES for e in write_errors)
            and not error.details.get("writeConcernErrors")
        )
    if isinstance(error, mongo_errors.OperationFailure):
        return error.code in DUPLICATE_KEY_CODES
    return False


def translate(error: mongo_errors.PyMongoError) -> DatabaseError | InterfaceError:
    """Map a driver error to the persistence error class the library expects."""
    if is_duplicate_key(error):
        return IntegrityError(str(error))
    if isinstance(error, mongo_errors.DocumentTooLarge):
        return DataError(str(error))
    if isinstance(error, mongo_errors.ConnectionFailure | mongo_errors.ExecutionTimeout):
        return OperationalError(str(error))
    if isinstance(error, mongo_errors.ConfigurationError | mongo_errors.InvalidOperation):
        return InterfaceError(str(error))
    if isinstance(error, mongo_errors.OperationFailure):
        return ProgrammingError(str(error))
    return DatabaseError(str(error))


@contextmanager
def translated_errors() -> Iterator[None]:
    """Re-raise driver errors raised inside the block as persistence errors."""
    try:
        yield
    except mongo_errors.PyMongoError as error:
        raise translate(error) from error
