"""Job ids, progress and job tracking for Clowder extractors built on pyClowder.

Three ways in, one behaviour: ``import pyclowder_jobs.auto``; :func:`enable` (or the
:func:`track_jobs` class decorator on an ``Extractor`` subclass); or :class:`JobTrackingMixin`
in a connector's bases. The extractor side needs pyClowder and pika and is loaded on first use,
so that :mod:`pyclowder_jobs.server` imports with the standard library alone.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "enable": "pyclowder_jobs.extractor.patch",
    "disable": "pyclowder_jobs.extractor.patch",
    "is_enabled": "pyclowder_jobs.extractor.patch",
    "track_jobs": "pyclowder_jobs.extractor.patch",
    "JobTrackingMixin": "pyclowder_jobs.extractor.connector",
    "TrackedRabbitMQConnector": "pyclowder_jobs.extractor.connector",
    "TrackedHandler": "pyclowder_jobs.extractor.handler",
    "progress": "pyclowder_jobs.extractor.handler",
    "current_job_id": "pyclowder_jobs.extractor.logs",
    "job_context": "pyclowder_jobs.extractor.logs",
    "new_job_id": "pyclowder_jobs.protocol.ids",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError("module 'pyclowder_jobs' has no attribute %r" % name)
    return getattr(importlib.import_module(module), name)


def __dir__() -> list:
    return sorted(list(globals()) + list(_EXPORTS))
