"""``python -m pyclowder_jobs.web serve --db FILE``: the web page without the full command line."""
import sys

from .server import main

sys.exit(main())
