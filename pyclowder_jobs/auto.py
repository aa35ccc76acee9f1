"""``import pyclowder_jobs.auto`` turns job tracking on for an unmodified extractor.

Set ``PYCLOWDER_JOBS_DISABLE=1`` to make the import do nothing.
"""

from pyclowder_jobs.extractor.patch import enable
from pyclowder_jobs.extractor.settings import auto_disabled

if not auto_disabled():
    enable()
