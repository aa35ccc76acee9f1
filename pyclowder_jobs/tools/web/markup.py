"""The Jinja2 templates of the web page: autoescaped, with every value cleaned on its way out.

Everything a page shows comes from events that any extractor or shell script could have sent.
Autoescaping makes each value text in HTML and SVG; :func:`clean` (the environment's ``finalize``)
also replaces the characters XML 1.0 forbids (NUL, most control characters, lone surrogates),
which would make the SVG unreadable, and cuts a huge value short (the JSON routes keep it whole).
"""

from __future__ import annotations

import re
from typing import Any

import jinja2
from markupsafe import Markup

#: Most characters of one value that a page shows.
MAX_TEXT = 10000

_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def clean(value: Any) -> str:
    """``value`` as text, characters XML cannot carry replaced by U+FFFD."""
    text = value if type(value) is str else ("" if value is None else str(value))
    return _FORBIDDEN.sub("\ufffd", text)


def _finalize(value: Any) -> Any:
    """What a template shows of ``value``: cleaned, and at most :data:`MAX_TEXT` characters of it."""
    kind = type(value)
    if kind is str:
        if len(value) <= MAX_TEXT and _FORBIDDEN.search(value) is None:  # most values: nothing to do
            return value
    elif kind is int or kind is Markup:
        return value
    text = clean(value)
    if len(text) > MAX_TEXT:
        text = "%s\u2026 (%d more characters)" % (text[:MAX_TEXT], len(text) - MAX_TEXT)
    return text


ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("pyclowder_jobs.tools.web", "templates"),
    autoescape=jinja2.select_autoescape(("html", "svg"), default_for_string=True, default=True),
    finalize=_finalize, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render(name: str, **context: Any) -> str:
    """The template ``name`` (in ``templates/``) rendered with ``context``."""
    return ENVIRONMENT.get_template(name).render(**context)
