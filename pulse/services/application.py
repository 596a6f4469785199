"""The eventsourcing application: Pulse's repository of aggregates and its event store."""

from __future__ import annotations

from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import JSONTranscoder, Transcoding

from pulse.config import Settings, eventstore_environment
from pulse.domain.context import CommandContext
from pulse.services.errors import NotFoundError

A = TypeVar("A", bound=Aggregate)


class CommandContextAsDict(Transcoding):
    type = CommandContext
    name = "command_context"

    def encode(self, obj: CommandContext) -> dict[str, Any]:
        return obj.as_dict()

    def decode(self, data: dict[str, Any]) -> CommandContext:
        return CommandContext.from_dict(data)


class PulseApplication(Application[UUID]):
    """One application, so one notification log holds every management event.

    Its name makes its collections ``pulse_events`` and ``pulse_snapshots``, the ones
    migration 0001 creates for the default ``PULSE_EVENTSTORE_NAME``.
    """

    name = "Pulse"

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(CommandContextAsDict())

    def load(self, aggregate_id: UUID, kind: type[A]) -> A:
        """The aggregate, or ``NotFoundError`` when there is none of that kind with that id."""
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFoundError(f"{kind.__name__} {aggregate_id}") from None
        if not isinstance(aggregate, kind):
            raise NotFoundError(f"{kind.__name__} {aggregate_id}")
        return aggregate


def create_application(settings: Settings) -> PulseApplication:
    env = eventstore_environment(settings)
    # The library looks up "<APP NAME>_<KEY>" before "<KEY>", and the process
    # environment may hold PULSE_MONGO_* for other purposes: name both spellings so
    # the settings passed here always win.
    prefix = PulseApplication.name.upper() + "_"
    env.update({prefix + key: value for key, value in list(env.items())})
    return PulseApplication(env=env)
