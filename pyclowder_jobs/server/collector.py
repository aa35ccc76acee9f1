"""The garbage collector paused for a batch of work: the fold, and the store's batches that use it."""

import gc
from typing import Any


class collections_paused:  # noqa: N801 (used like a function: ``with collections_paused():``)
    """Keeps the garbage collector off for a batch of work, then restores it as it was.

    Folding allocates a few objects per event and per job and makes no reference cycles; with
    collections on, that many objects would set off full collections over everything the fold and
    the caller hold, again and again.  A class, not a generator: leaving it allocates nothing, so
    no collection starts before the batch's temporary objects are freed.  Nested uses are fine:
    only the outermost one turns the collector back on.
    """

    __slots__ = ("collecting",)

    def __enter__(self) -> None:
        self.collecting = gc.isenabled()
        gc.disable()

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> None:
        if self.collecting:
            gc.enable()
