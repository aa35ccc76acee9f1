"""An extractor that does what each request asks, to show every path a job can take.

The request's ``parameters`` may hold ``"skip": true`` (skipped in check_message), ``"fail": true``
(the message goes to the error queue), ``"retry": true`` (the first attempt fails, the retry
succeeds), and ``"seconds"`` with ``"steps"`` (work that long, reporting progress at each step).
Without parameters a job does nothing and succeeds. The demo runs it as
``python -m pyclowder_jobs.tools.demo.behave``, tracked; ``examples/behave/`` runs it each way in.
"""

import logging
import time

import pyclowder_jobs
from pyclowder.connectors import PyClowderExtractionAbort
from pyclowder.extractors import Extractor
from pyclowder.utils import CheckMessage

logger = logging.getLogger("behave")


class Behave(Extractor):
    """Does what the request's parameters ask."""

    def __init__(self):
        Extractor.__init__(self)
        self.setup()

    def check_message(self, connector, host, secret_key, resource, parameters):
        if _asked(parameters).get("skip"):
            return CheckMessage.ignore
        return CheckMessage.bypass

    def process_message(self, connector, host, secret_key, resource, parameters):
        asked = _asked(parameters)
        logger.info("working on %s", resource["id"])
        logging.getLogger("some.library").info("a library logs from the job's thread")
        if asked.get("fail"):
            raise PyClowderExtractionAbort("asked to fail")
        if asked.get("retry") and not parameters.get("retry_count"):
            raise RuntimeError("asked to fail on the first attempt")
        steps = int(asked.get("steps", 0))
        seconds = float(asked.get("seconds", 0))
        for step in range(1, steps + 1):
            time.sleep(seconds / steps)
            pyclowder_jobs.progress(connector, resource, step, steps, "steps")
        if not steps and seconds:
            time.sleep(seconds)


def _asked(parameters):
    asked = parameters.get("parameters") or {}
    return asked if isinstance(asked, dict) else {}


if __name__ == "__main__":
    pyclowder_jobs.enable()
    Behave().start()
