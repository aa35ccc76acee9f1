"""Run the Behave extractor unmodified, with tracking turned on by an import."""

import pyclowder_jobs.auto  # noqa: F401

from pyclowder_jobs.tools.demo.behave import Behave

if __name__ == "__main__":
    Behave().start()
