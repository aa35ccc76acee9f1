"""The job id on every log record made in a job's thread.

While a job runs, each record from any logger in the job's thread carries ``record.job_id``
(``"-"`` outside a job), so ``%(job_id)s`` works in any format string. A value the caller set
(a ``LoggerAdapter``, ``extra=``) is kept. The id is added in ``Logger.makeRecord``, after
``extra`` is applied, since a record factory would make ``extra={"job_id": ...}`` raise.

The job's secret key is masked in the message and traceback of each record made in its thread:
pyClowder itself logs it in some places (the default ``check_message``, 2.x's registration URL).
"""

from __future__ import annotations

import logging
from threading import get_ident
from typing import Any, Dict, Optional, Tuple

#: The value of ``record.job_id`` outside a job.
NO_JOB = "-"

#: What a secret key is replaced with.
REDACTED = "*****"

#: Shorter secrets are not masked: masking them would garble ordinary text.
MIN_SECRET_LENGTH = 6

#: The format of pyClowder's default logging set-up.
PYCLOWDER_FORMAT = "%(asctime)-15s [%(threadName)-15s] %(levelname)-7s : %(name)s - %(message)s"

#: pyClowder's default log format, with the job id.
DEFAULT_FORMAT = "%(asctime)-15s [%(threadName)-15s] %(levelname)-7s [%(job_id)s] : %(name)s - %(message)s"

#: (job id, secret) by thread ident, for the threads running a job. A dict rather than a
#: ``threading.local``: each job runs in a new thread, and a dict entry costs less to make and drop.
_running: Dict[int, Tuple[str, Optional[str]]] = {}
_original_make_record = None


def current_job_id() -> str:
    """The id of the job running in this thread, or ``"-"``."""
    return _running.get(get_ident(), (NO_JOB,))[0]


def enter_job(job_id: str, secret: Optional[str] = None) -> Optional[Tuple[str, Optional[str]]]:
    """Mark the current thread as running ``job_id``, masking ``secret``, until :func:`leave_job`.

    Returns what the thread ran before, to give to :func:`leave_job`.
    """
    ident = get_ident()
    previous = _running.get(ident)
    usable = isinstance(secret, str) and len(secret) >= MIN_SECRET_LENGTH
    _running[ident] = (job_id, secret if usable else None)
    return previous


def leave_job(previous: Optional[Tuple[str, Optional[str]]]) -> None:
    """Undo :func:`enter_job`: the current thread runs what it ran before (``previous``)."""
    if previous is None:
        _running.pop(get_ident(), None)
    else:
        _running[get_ident()] = previous


class job_context:  # noqa: N801 (used like a function: ``with job_context(job_id):``)
    """Mark the current thread as running ``job_id``, masking ``secret``, for a ``with`` block."""

    __slots__ = ("job_id", "secret", "previous")

    def __init__(self, job_id: str, secret: Optional[str] = None) -> None:
        self.job_id = job_id
        self.secret = secret
        self.previous: Optional[Tuple[str, Optional[str]]] = None

    def __enter__(self) -> None:
        self.previous = enter_job(self.job_id, self.secret)

    def __exit__(self, *exc_info: Any) -> None:
        leave_job(self.previous)


def redact(text: str, secret: Optional[str]) -> str:
    """``text`` with every occurrence of ``secret`` masked."""
    if secret and secret in text:
        return text.replace(secret, REDACTED)
    return text


def _make_record(self, name, level, fn, lno, msg, args, exc_info, func=None, extra=None, sinfo=None):
    record = _original_make_record(self, name, level, fn, lno, msg, args, exc_info, func, extra, sinfo)
    job_id, secret = _running.get(get_ident(), (NO_JOB, None))
    if "job_id" not in record.__dict__:
        record.job_id = job_id
    if secret:
        _mask(record, secret)
    return record


def _mask(record: logging.LogRecord, secret: str) -> None:
    try:
        message = record.getMessage()
    except Exception:  # pylint: disable=broad-except
        return  # the handler reports the bad format string when it emits the record
    if secret in message:
        record.msg, record.args = message.replace(secret, REDACTED), None
    if record.exc_info:
        traceback_text = logging.Formatter().formatException(record.exc_info)
        if secret in traceback_text:
            record.exc_text = traceback_text.replace(secret, REDACTED)


def install() -> None:
    """Add ``job_id`` to every log record from now on. Calling it again does nothing."""
    global _original_make_record
    if _original_make_record is None:
        _original_make_record = logging.Logger.makeRecord
        logging.Logger.makeRecord = _make_record


def show_job_id_in_default_format() -> None:
    """Give root handlers that use pyClowder's default format the same format with the job id.

    pyClowder's ``setup_logging`` without a configuration calls ``logging.basicConfig`` with
    :data:`PYCLOWDER_FORMAT`; handlers with any other format are left as they are.
    """
    for handler in logging.getLogger().handlers:
        formatter = handler.formatter
        if formatter is not None and getattr(formatter, "_fmt", None) == PYCLOWDER_FORMAT:
            handler.setFormatter(logging.Formatter(DEFAULT_FORMAT, formatter.datefmt))
