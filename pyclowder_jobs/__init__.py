"""Job ids, progress and job tracking for Clowder extractors built on pyClowder.

The extractor side (``enable``, ``JobTrackingMixin``, ...) needs pyClowder and pika and is
loaded on first use, so that :mod:`pyclowder_jobs.server` imports with the standard library alone.
"""

__version__ = "0.1.0"
