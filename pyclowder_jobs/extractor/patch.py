"""Turning tracking on and off in pyClowder: ``enable``, ``disable`` and ``track_jobs``.

``Extractor.start()`` looks ``RabbitMQConnector`` up in ``pyclowder.extractors`` when it runs, so
rebinding that one name is enough (rebinding pyClowder's classes in ``pyclowder.connectors`` would
make their ``super()`` calls recurse). Both calls are idempotent, and a failure leaves pyClowder
as it was.
"""

from __future__ import annotations

import functools
import logging
from typing import Any, Callable, Optional, TypeVar

from pyclowder_jobs.extractor import logs

logger = logging.getLogger("pyclowder_jobs")

T = TypeVar("T")

_original_connector: Optional[type] = None


def enable() -> bool:
    """Track the jobs of every RabbitMQ extractor started from now on.

    Returns True when tracking is on; False (after logging why) when it could not be turned on,
    in which case pyClowder is left exactly as it was.
    """
    global _original_connector
    if _original_connector is not None:
        return True
    try:
        import pyclowder.extractors as extractors
        from pyclowder_jobs.extractor.connector import TrackedRabbitMQConnector

        logs.install()
        _original_connector = extractors.RabbitMQConnector
        extractors.RabbitMQConnector = TrackedRabbitMQConnector
    except Exception:  # pylint: disable=broad-except
        logger.exception("Could not turn job tracking on: pyClowder runs as it is")
        disable()
        return False
    return True


def disable() -> None:
    """Undo :func:`enable`: extractors started from now on are plain pyClowder.

    Log records keep their ``job_id`` (``"-"``), so formats that show it go on working.
    """
    global _original_connector
    if _original_connector is None:
        return
    import pyclowder.extractors as extractors

    extractors.RabbitMQConnector = _original_connector
    _original_connector = None


def is_enabled() -> bool:
    """True between :func:`enable` and :func:`disable`."""
    return _original_connector is not None


def track_jobs(extractor_class: T) -> T:
    """Class decorator for an ``Extractor`` subclass: its ``start()`` runs with tracking on."""
    original_start: Callable[..., Any] = extractor_class.start  # type: ignore[attr-defined]

    @functools.wraps(original_start)
    def start(self: Any, *args: Any, **kwargs: Any) -> Any:
        enable()
        return original_start(self, *args, **kwargs)

    extractor_class.start = start  # type: ignore[attr-defined]
    return extractor_class
