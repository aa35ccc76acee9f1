"""Run the Behave extractor with the one-line opt-in on its class."""

from pyclowder_jobs.tools.demo.behave import Behave
from pyclowder_jobs import track_jobs


@track_jobs
class TrackedBehave(Behave):
    """The Behave extractor; the decorator is all it takes to track its jobs."""


if __name__ == "__main__":
    TrackedBehave().start()
