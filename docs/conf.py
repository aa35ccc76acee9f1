"""Sphinx configuration of the pyclowder-jobs documentation (``python3 -m tox -e docs`` builds it)."""

import re
from pathlib import Path

project = "pyclowder-jobs"
author = "the pyclowder-jobs authors"
copyright = "the pyclowder-jobs authors"  # noqa: A001 (the name Sphinx reads)

# The version is read from the package's source text, so that building the docs imports nothing.
_init = (Path(__file__).resolve().parents[1] / "pyclowder_jobs" / "__init__.py").read_text(encoding="utf-8")
release = version = re.search(r'^__version__ = "([^"]+)"', _init, re.MULTILINE).group(1)

extensions = []
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path = []
html_theme_options = {
    "description": "Job ids, progress and job tracking for Clowder extractors",
    "fixed_sidebar": False,
    "page_width": "1100px",
}
highlight_language = "none"
