"""Turning tracking on and off in pyClowder: ``enable``, ``disable`` and ``track_jobs``.

``Extractor.start()`` looks ``RabbitMQConnector`` up in ``pyclowder.extractors`` when it runs, so
rebinding that one name is enough (rebinding pyClowder's classes in ``pyclowder.connectors`` would
make their ``super()`` calls recurse). :func:`enable` also adds the job id to log records and to
pyClowder's default log format: in the root handlers that already use it, and in those that
pyClowder's ``setup_logging`` makes while tracking is on.

:func:`enable` and :func:`disable` are idempotent and exact inverses: each change :func:`enable`
makes is recorded with its undoing as it is made, :func:`disable` undoes them in reverse order,
and a failure part way through undoes what was done, leaving pyClowder as it was. A name someone
else has rebound since is left as they set it.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from typing import Any, Callable, Optional, TypeVar

from pyclowder_jobs.extractor import logs

logger = logging.getLogger("pyclowder_jobs")

T = TypeVar("T")

#: The undoing of what :func:`enable` changed, or None while tracking is off.
_undo: Optional[contextlib.ExitStack] = None
_lock = threading.Lock()


def enable() -> bool:
    """Track the jobs of every RabbitMQ extractor started from now on.

    Returns True when tracking is on; False (after logging why) when it could not be turned on,
    in which case pyClowder and logging are left exactly as they were.
    """
    global _undo
    with _lock:
        if _undo is not None:
            return True
        undo = contextlib.ExitStack()
        try:
            import pyclowder.extractors as extractors

            from pyclowder_jobs.extractor import compat
            from pyclowder_jobs.extractor.connector import TrackedRabbitMQConnector

            logs.install()
            undo.callback(logs.uninstall)
            _rebind(undo, extractors, "RabbitMQConnector", TrackedRabbitMQConnector)
            if compat.LOGGING_SETUP_MODULE is not None:
                original = getattr(compat.LOGGING_SETUP_MODULE, compat.LOGGING_SETUP_NAME)
                _rebind(undo, compat.LOGGING_SETUP_MODULE, compat.LOGGING_SETUP_NAME,
                        _setup_logging_showing_job_id(original))
            _show_job_id(undo)
        except Exception:  # pylint: disable=broad-except
            logger.exception("Could not turn job tracking on: pyClowder runs as it is")
            _close(undo)
            return False
        _undo = undo
        return True


def disable() -> None:
    """Undo :func:`enable`: extractors started from now on are plain pyClowder, and logging is as it was.

    Connectors already made keep tracking their jobs, and their records keep their ``job_id``.
    """
    global _undo
    with _lock:
        undo, _undo = _undo, None
    if undo is not None:
        _close(undo)


def is_enabled() -> bool:
    """True between :func:`enable` and :func:`disable`."""
    return _undo is not None


def track_jobs(extractor_class: T) -> T:
    """Class decorator for an ``Extractor`` subclass: its ``start()`` runs with tracking on."""
    original_start: Callable[..., Any] = extractor_class.start  # type: ignore[attr-defined]

    @functools.wraps(original_start)
    def start(self: Any, *args: Any, **kwargs: Any) -> Any:
        enable()
        return original_start(self, *args, **kwargs)

    extractor_class.start = start  # type: ignore[attr-defined]
    return extractor_class


def _rebind(undo: contextlib.ExitStack, owner: Any, name: str, replacement: Any) -> None:
    """Set ``owner.name`` to ``replacement``, recording how to put the original back."""
    original = getattr(owner, name)
    setattr(owner, name, replacement)
    undo.callback(_put_back, owner, name, replacement, original)


def _put_back(owner: Any, name: str, replacement: Any, original: Any) -> None:
    if getattr(owner, name) is replacement:
        setattr(owner, name, original)
    else:
        logger.warning("%s.%s was rebound after tracking was turned on: left as it is", owner.__name__, name)


def _show_job_id(undo: contextlib.ExitStack) -> None:
    """Show the job id in the root handlers that use pyClowder's default format, recording how to undo it."""
    replaced = logs.show_job_id(logging.getLogger().handlers)
    if replaced:
        undo.callback(logs.restore_formatters, replaced)


def _setup_logging_showing_job_id(original: Callable[..., Any]) -> Callable[..., Any]:
    """pyClowder's ``setup_logging``, then, while tracking is on, the job id in the format it set.

    A copy of this function kept past :func:`disable` is pyClowder's own again.
    """

    @functools.wraps(original)
    def setup_logging(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        with _lock:
            undo = _undo
            if undo is not None:
                try:
                    _show_job_id(undo)
                except Exception:  # pylint: disable=broad-except
                    logger.exception("Could not add the job id to pyClowder's log format")
        return result

    return setup_logging


def _close(undo: contextlib.ExitStack) -> None:
    """Run every undoing in ``undo``; one that fails is logged, the others still run."""
    try:
        undo.close()
    except Exception:  # pylint: disable=broad-except
        logger.exception("Could not put everything back as it was before tracking was turned on")
