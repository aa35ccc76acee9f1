"""The latency benchmark's extractor: each job sends one status that carries its own emit time.

Plain pyClowder puts no emit time on a status reply (``start`` has one-second precision), so the
job writes it into the status text: ``emitted-at-ms <UTC milliseconds since the epoch>``. The
request's ``parameters`` may hold ``"delay"`` (seconds to wait before that status), which lets
the benchmark place the status anywhere in plain pyClowder's one-second polling cycle.

Set ``BENCH_TRACKING=1`` to run it with job tracking on (``pyclowder_jobs.enable()``), otherwise
it is plain pyClowder. Run it with ``cwd`` = ``examples/behave`` (for ``extractor_info.json``).
"""

import os
import time

from pyclowder.extractors import Extractor
from pyclowder.utils import CheckMessage, StatusMessage

#: The start of the stamped status text; the emit time follows.
STAMP = "emitted-at-ms "


class Stamping(Extractor):
    """Waits the requested delay, then sends one status stamped with the time it was emitted."""

    def __init__(self):
        Extractor.__init__(self)
        self.setup()

    def check_message(self, connector, host, secret_key, resource, parameters):
        return CheckMessage.bypass

    def process_message(self, connector, host, secret_key, resource, parameters):
        asked = parameters.get("parameters") or {}
        time.sleep(float(asked.get("delay", 0)))
        connector.status_update(StatusMessage.processing, resource, "%s%.3f" % (STAMP, time.time() * 1000))


if __name__ == "__main__":
    if os.environ.get("BENCH_TRACKING") == "1":
        import pyclowder_jobs

        pyclowder_jobs.enable()
    Stamping().start()
