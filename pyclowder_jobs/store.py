"""``pyclowder_jobs.store.Store``: the job store of the operator tools, under its documented name.

The store itself lives in :mod:`pyclowder_jobs.tools.store`.
"""

from pyclowder_jobs.tools.store import Store, StoreError

__all__ = ["Store", "StoreError"]
