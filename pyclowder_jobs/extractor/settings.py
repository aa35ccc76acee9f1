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

_TRUE = {"1", "true", "yes", "on"}


def auto_disabled() -> bool:
    """True when the environment asks ``import pyclowder_jobs.auto`` to do nothing."""
    return os.environ.get(DISABLE_VARIABLE, "").strip().lower() in _TRUE


@dataclass(frozen=True)
class Settings:
    """What a tracking connector reads from the environment."""

    id_style: str = OBJECTID
    progress_interval: float = 1.0
    tap_exchange: str = "pyclowder.jobs"

    @classmethod
    def from_env(cls) -> "Settings":
        """Settings from the environment; a bad value is reported and replaced by its default."""
        defaults = cls()
        id_style = os.environ.get(ID_STYLE_VARIABLE, defaults.id_style).strip().lower()
        if id_style not in ID_STYLES:
            logger.warning("%s=%r is not one of %s: using %s", ID_STYLE_VARIABLE, id_style[:32],
                           ", ".join(ID_STYLES), defaults.id_style)
            id_style = defaults.id_style
        interval_text = os.environ.get(PROGRESS_INTERVAL_VARIABLE)
        progress_interval = defaults.progress_interval
        if interval_text is not None:
            try:
                progress_interval = max(0.0, float(interval_text))
            except ValueError:
                logger.warning("%s=%r is not a number of seconds: using %s", PROGRESS_INTERVAL_VARIABLE,
                               interval_text[:32], defaults.progress_interval)
        tap_exchange = os.environ.get(TAP_EXCHANGE_VARIABLE, defaults.tap_exchange).strip()
        return cls(id_style=id_style, progress_interval=progress_interval, tap_exchange=tap_exchange)
