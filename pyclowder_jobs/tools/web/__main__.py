"""``python -m pyclowder_jobs.tools.web serve --db FILE``: the web page without the full command line."""
import sys

from .httpd import main

sys.exit(main())
