"""Real participants for the tests: the ``livekit`` real-time SDK, publishing a tone."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from livekit import rtc

SAMPLE_RATE = 48_000
FRAME = 480  # 10 ms


@asynccontextmanager
async def joined(url: str, token: str) -> AsyncIterator[rtc.Room]:
    room = rtc.Room()
    await room.connect(url, token)
    try:
        yield room
    finally:
        await room.disconnect()


async def publish_tone(room: rtc.Room, seconds: float = 0.5) -> rtc.LocalTrackPublication:
    """Publish a 440 Hz sine wave as a microphone track, ``seconds`` of it."""
    source = rtc.AudioSource(SAMPLE_RATE, 1)
    track = rtc.LocalAudioTrack.create_audio_track("tone", source)
    publication = await room.local_participant.publish_track(
        track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
    )
    frame = rtc.AudioFrame.create(SAMPLE_RATE, 1, FRAME)
    for n in range(int(seconds * SAMPLE_RATE / FRAME)):
        samples = frame.data
        for i in range(FRAME):
            samples[i] = int(8000 * math.sin(2 * math.pi * 440 * (n * FRAME + i) / SAMPLE_RATE))
        await source.capture_frame(frame)
    return publication


async def wait_for(predicate: Callable[[], bool], seconds: float = 10.0) -> None:
    async with asyncio.timeout(seconds):
        while not predicate():  # noqa: ASYNC110 (the SDK exposes state, not an event)
            await asyncio.sleep(0.05)
