"""Pages that follow the store live: Server-Sent Events as the recorder (or the progress API) writes.

Every open page has a stream.  The streams learn of new events from :class:`Changes`, which reads
the number of the latest stored event at most every :data:`TICK` seconds however many pages
follow, so a quiet store costs one small query per tick.  When the number grows, each stream asks
its page's ``update`` for what changed (the index's jobs, a job's new log lines or its facts) and
sends it as events named for the part of the page they replace; each carries the number of the
latest event it covers as its id, so a browser that reconnects resumes from there.  A page that
shows unfinished jobs is also refreshed every :data:`REFRESH` seconds, since their elapsed time and
a LOST status change without events.  Nothing here needs the app's start-up: a mounted app
(whose lifespan its parent does not run) follows as well.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any, AsyncIterator, Awaitable, Callable, List, Optional, Tuple

import anyio

logger = logging.getLogger(__name__)

#: Seconds between looks at the store for new events.
TICK = 0.25
#: Seconds after which a page showing unfinished jobs is refreshed even without new events.
REFRESH = 15.0
#: Seconds of silence after which a stream sends a comment, so that proxies keep it open.
KEEPALIVE = 15.0
#: Milliseconds a browser waits before it reconnects a stream that ended.
RETRY_MS = 3000

#: ``update(seen, latest, timed)``: the events to send for what changed after event ``seen`` (or,
#: when ``timed``, because time passed), whether the page still shows unfinished jobs, and the
#: number of the latest event the messages cover.
Update = Callable[[int, int, bool], Awaitable[Tuple[List[str], bool, int]]]


class Changes:
    """The number of the latest stored event, read at most once per ``interval`` for all streams."""

    def __init__(self, read: Callable[[], Awaitable[int]], interval: float = TICK) -> None:
        self._read = read
        self.interval = interval
        self._seq = 0
        self._read_at: Optional[float] = None

    async def latest(self) -> int:
        """The number as read at most ``interval`` seconds ago (the first caller after that reads it)."""
        now = time.monotonic()
        if self._read_at is None or now - self._read_at >= self.interval:
            self._read_at = now  # set before the read: the streams that come meanwhile use the last value
            self._seq = await self._read()
        return self._seq


def message(name: str, data: Any, seq: int) -> str:
    """One Server-Sent Event: its name, its id ``seq`` and ``data`` as one line of JSON."""
    return "event: %s\nid: %d\ndata: %s\n\n" % (name, seq, json.dumps(data, ensure_ascii=True))


async def follow(changes: Changes, update: Update, after: int, *, gap: float = 1.0,
                 stopping: Callable[[], bool] = lambda: False) -> AsyncIterator[str]:
    """The text of a page's stream: its updates for the events after ``after``, at most one every
    ``gap`` seconds, and keep-alive comments; it ends when ``stopping()`` says so (the server
    stops) or an update fails (the browser then reconnects)."""
    yield "retry: %d\n\n" % RETRY_MS
    seen, running = after, True
    now = time.monotonic()
    sent, refreshed = now, now - gap
    while not stopping():
        await anyio.sleep(TICK)
        try:
            latest = await changes.latest()
            now = time.monotonic()
            fresh = latest > seen and now - refreshed >= gap
            timed = running and now - refreshed >= REFRESH
            if fresh or timed:
                messages, running, covered = await update(seen, latest, not fresh)
                seen, refreshed = max(seen, covered), now
                for text in messages:
                    yield text
                    sent = now
        except Exception:  # pylint: disable=broad-except
            logger.exception("a live page's update failed; its stream ends and the browser reconnects")
            return
        if now - sent >= KEEPALIVE:
            yield ": keep-alive\n\n"
            sent = now
