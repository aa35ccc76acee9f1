"""Run the Behave extractor on plain pyClowder, without job tracking."""

from pyclowder_jobs.tools.demo.behave import Behave

if __name__ == "__main__":
    Behave().start()
