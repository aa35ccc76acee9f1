"""Turning untrusted job text into safe markup, and times and durations into short text.

Everything a page or chart shows comes from events that any extractor or shell script could have
sent, so every value goes through :func:`h` (HTML) or :func:`x` (XML) on its way out.  Both also
replace the characters XML 1.0 forbids (NUL and most control characters, lone surrogates), which
would otherwise make the SVG unreadable and the HTML ambiguous.
"""
import html
import re
from typing import Any, Optional

from .. import timefmt

_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def clean(value: Any) -> str:
    """``value`` as text, with characters XML cannot carry replaced by U+FFFD."""
    text = value if type(value) is str else ("" if value is None else str(value))
    return _FORBIDDEN.sub("\ufffd", text)


def h(value: Any) -> str:
    """``value`` as HTML or XML text, safe in element content and in quoted attributes."""
    return html.escape(clean(value), quote=True)


def when(iso: Optional[str]) -> str:
    """``2019-03-14 15:00:03`` from the fold's ``2019-03-14T15:00:03.412Z``; empty for None."""
    if type(iso) is not str:
        return ""
    return clean(iso[:10] + " " + iso[11:19]) if len(iso) >= 19 else clean(iso)


def duration(seconds: Any) -> str:
    """A duration as the command line shows it (``timefmt.duration``); empty unless a number >= 0."""
    if type(seconds) not in (int, float) or seconds != seconds or not 0 <= seconds <= 1e12:
        return ""
    return timefmt.duration(seconds)
