"""Settings of the extractor side, read from the environment when a connector is made."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from pyclowder_jobs.protocol.ids import ID_STYLES, OBJECTID

logger = logging.getLogger("pyclowder_jobs")

#: Set to 1, true, yes or on to make ``import pyclowder_jobs.auto`` do nothing.
DISABLE_VARIABLE = "PYCLOWDER_JOBS_DISABLE"
#: ``objectid`` (default) or ``uuid4``: the shape of the ids this library makes.
ID_STYLE_VARIABLE = "PYCLOWDER_JOBS_ID_STYLE"
#: Least number of seconds between two progress messages of one job (default 1).
PROGRESS_INTERVAL_VARIABLE = "PYCLOWDER_JOBS_PROGRESS_INTERVAL"

#: The topic exchange of the event tap (default ``pyclowder.jobs``); empty turns the tap off.
TAP_EXCHANGE_VARIABLE = "PYCLOWDER_JOBS_TAP_EXCHANGE"
#: Set to 0, false, no or off to publish tap events transient (default: persistent, so that a
#: recorder's backlog survives a broker restart).
TAP_PERSISTENT_VARIABLE = "PYCLOWDER_JOBS_TAP_PERSISTENT"
#: Seconds the broker may stay away before the extractor exits with status 75, for a supervisor to
#: restart it (default 300).
RECONNECT_TIMEOUT_VARIABLE = "PYCLOWDER_JOBS_RECONNECT_TIMEOUT"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def auto_disabled() -> bool:
    """True when the environment asks ``import pyclowder_jobs.auto`` to do nothing."""
    return os.environ.get(DISABLE_VARIABLE, "").strip().lower() in _TRUE


@dataclass(frozen=True)
class Settings:
    """What a tracking connector reads from the environment."""

    id_style: str = OBJECTID
    progress_interval: float = 1.0
    tap_exchange: str = "pyclowder.jobs"
    tap_persistent: bool = True
    reconnect_timeout: float = 300.0

    @classmethod
    def from_env(cls) -> "Settings":
        """Settings from the environment; a bad value is reported and replaced by its default."""
        defaults = cls()
        id_style = os.environ.get(ID_STYLE_VARIABLE, defaults.id_style).strip().lower()
        if id_style not in ID_STYLES:
            logger.warning("%s=%r is not one of %s: using %s", ID_STYLE_VARIABLE, id_style[:32],
                           ", ".join(ID_STYLES), defaults.id_style)
            id_style = defaults.id_style
        progress_interval = _seconds(PROGRESS_INTERVAL_VARIABLE, defaults.progress_interval)
        tap_exchange = os.environ.get(TAP_EXCHANGE_VARIABLE, defaults.tap_exchange).strip()
        persistent_text = os.environ.get(TAP_PERSISTENT_VARIABLE, "").strip().lower()
        if persistent_text and persistent_text not in _TRUE | _FALSE:
            logger.warning("%s=%r is not one of 1, 0, true, false, yes, no, on, off: using %s",
                           TAP_PERSISTENT_VARIABLE, persistent_text[:32], defaults.tap_persistent)
        tap_persistent = persistent_text not in _FALSE
        return cls(id_style=id_style, progress_interval=progress_interval, tap_exchange=tap_exchange,
                   tap_persistent=tap_persistent,
                   reconnect_timeout=_seconds(RECONNECT_TIMEOUT_VARIABLE, defaults.reconnect_timeout))


def _seconds(variable: str, default: float) -> float:
    """A number of seconds from 0 up from the environment; a bad value is reported and replaced by ``default``."""
    text = os.environ.get(variable)
    if text is None:
        return default
    try:
        return max(0.0, float(text))
    except ValueError:
        logger.warning("%s=%r is not a number of seconds: using %s", variable, text[:32], default)
        return default
