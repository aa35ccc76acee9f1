"""The job id on every log record made in a job's thread, and a copy of it for the job's event tap (``docs/wire.rst``).

While a job runs, each record from any logger in the job's thread carries ``record.job_id``
(``"-"`` outside a job), so ``%(job_id)s`` works in any format string. A value the caller set
(a ``LoggerAdapter``, ``extra=``) is kept. The id is added in ``Logger.makeRecord``, after
``extra`` is applied, since a record factory would make ``extra={"job_id": ...}`` raise. The same
hook hands each record of a job's thread to the job's sink (its copy for the event tap), so that
no handler is added to any logger.

The job's secret key is masked in the message and traceback of each record made in its thread,
before the sink sees it: pyClowder itself logs it in some places (the default ``check_message``,
2.x's registration URL).

:func:`install` and :func:`uninstall` are counted: the hook stays in place while anything that
installed it (``enable()``, a tracking connector) still needs it. Formatters are changed only by
:func:`show_job_id`, whose changes :func:`restore_formatters` undoes.
"""

from __future__ import annotations

import logging
import threading
from threading import get_ident
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

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

#: A job's sink: takes each record made in the job's thread (it may raise: the hook ignores it).
Sink = Callable[[logging.LogRecord], None]
#: What a thread runs: the job's id, its secret (None when none is masked) and its sink (or None).
JobState = Tuple[str, Optional[str], Optional[Sink]]
#: A formatter :func:`show_job_id` replaced: the handler, its formatter before, and the one put in.
Replaced = Tuple[logging.Handler, logging.Formatter, logging.Formatter]

#: What each thread running a job runs, by thread ident. A dict rather than a ``threading.local``:
#: each job runs in a new thread, and a dict entry costs less to make and drop.
_running: Dict[int, JobState] = {}

#: The ``Logger.makeRecord`` the hook calls. Kept after :func:`uninstall`, so that a copy of the hook
#: that someone else kept and calls still makes records.
_original_make_record: Callable[..., logging.LogRecord] = logging.Logger.makeRecord
#: Whether the hook is in ``Logger.makeRecord``'s chain, and how many :func:`install` calls are not yet undone.
_hooked = False
_installs = 0
_install_lock = threading.Lock()


def current_job_id() -> str:
    """The id of the job running in this thread, or ``"-"``."""
    return _running.get(get_ident(), (NO_JOB,))[0]


def enter_job(job_id: str, secret: Optional[str] = None, sink: Optional[Sink] = None) -> Optional[JobState]:
    """Mark the current thread as running ``job_id``, masking ``secret``, until :func:`leave_job`.

    ``sink``, when given, gets each record made in the thread meanwhile, its secret masked.
    Returns what the thread ran before, to give to :func:`leave_job`.
    """
    ident = get_ident()
    previous = _running.get(ident)
    usable = isinstance(secret, str) and len(secret) >= MIN_SECRET_LENGTH
    _running[ident] = (job_id, secret if usable else None, sink)
    return previous


def leave_job(previous: Optional[JobState]) -> None:
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
        self.previous: Optional[JobState] = None

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
    job = _running.get(get_ident())
    if job is None:
        if "job_id" not in record.__dict__:
            record.job_id = NO_JOB
        return record
    job_id, secret, sink = job
    if "job_id" not in record.__dict__:
        record.job_id = job_id
    if secret:
        _mask(record, secret)
    if sink is not None:
        try:
            sink(record)
        except Exception:  # pylint: disable=broad-except
            pass  # a copy for the tap is never worth breaking the program's own logging
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
    """Add ``job_id`` to every log record from now on, until as many :func:`uninstall` calls.

    The hook goes into ``Logger.makeRecord`` once, however often this is called.
    """
    global _original_make_record, _hooked, _installs
    with _install_lock:
        if not _hooked:
            if logging.Logger.makeRecord is not _make_record:
                _original_make_record = logging.Logger.makeRecord
                logging.Logger.makeRecord = _make_record
            _hooked = True
        _installs += 1


def uninstall() -> None:
    """Undo one :func:`install`; the last one puts ``Logger.makeRecord`` back as it was.

    If something else has replaced ``Logger.makeRecord`` since, its replacement (which calls the
    hook) is left in place: taking the hook out from under it would undo its change too.
    """
    global _hooked, _installs
    with _install_lock:
        if _installs == 0:
            return
        _installs -= 1
        if _installs == 0 and logging.Logger.makeRecord is _make_record:
            logging.Logger.makeRecord = _original_make_record
            _hooked = False


def show_job_id(handlers: Iterable[logging.Handler]) -> List[Replaced]:
    """Give each of ``handlers`` that uses pyClowder's default format the same format with the job id.

    pyClowder's ``setup_logging`` without a configuration calls ``logging.basicConfig`` with
    :data:`PYCLOWDER_FORMAT`; handlers with any other format are left as they are. Returns what
    was replaced, for :func:`restore_formatters`.
    """
    replaced = []
    for handler in list(handlers):
        formatter = handler.formatter
        if formatter is not None and getattr(formatter, "_fmt", None) == PYCLOWDER_FORMAT:
            shown = logging.Formatter(DEFAULT_FORMAT, formatter.datefmt)
            handler.setFormatter(shown)
            replaced.append((handler, formatter, shown))
    return replaced


def restore_formatters(replaced: List[Replaced]) -> None:
    """Undo :func:`show_job_id`: each handler whose formatter is still the one put in gets its own back."""
    for handler, original, shown in reversed(replaced):
        if handler.formatter is shown:
            handler.setFormatter(original)
