"""The job id on log records, and their copies for a job's sink (``docs/wire.rst``)."""

import io
import logging
import threading

import pytest

import pyclowder_jobs
from pyclowder_jobs.extractor import logs as logcontext


@pytest.fixture
def captured():
    logcontext.install()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(job_id)s %(name)s %(message)s"))
    logger = logging.getLogger("test.logcontext")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)
    logcontext.uninstall()


def test_records_outside_a_job_carry_a_dash(captured):
    logger, stream = captured
    logger.info("idle")
    assert stream.getvalue() == "- test.logcontext idle\n"


def test_records_in_a_jobs_thread_carry_its_id(captured):
    logger, stream = captured
    with logcontext.job_context("job-1"):
        logger.info("working")
    assert stream.getvalue() == "job-1 test.logcontext working\n"


def test_other_threads_do_not_see_the_jobs_id(captured):
    logger, stream = captured
    with logcontext.job_context("job-1"):
        thread = threading.Thread(target=logger.info, args=("elsewhere",))
        thread.start()
        thread.join()
    assert stream.getvalue() == "- test.logcontext elsewhere\n"


def test_a_thread_the_job_starts_carries_its_id_inside_job_context(captured):
    logger, stream = captured

    def work(job_id):
        with pyclowder_jobs.job_context(job_id):
            logger.info("helping")

    with logcontext.job_context("job-1"):
        thread = threading.Thread(target=work, args=(pyclowder_jobs.current_job_id(),))
        thread.start()
        thread.join()
    assert stream.getvalue() == "job-1 test.logcontext helping\n"


def test_an_id_set_with_extra_is_kept(captured):
    logger, stream = captured
    with logcontext.job_context("job-1"):
        logger.info("mine", extra={"job_id": "caller"})
    assert stream.getvalue() == "caller test.logcontext mine\n"


def test_an_id_set_by_a_logger_adapter_is_kept(captured):
    logger, stream = captured
    with logcontext.job_context("job-1"):
        logging.LoggerAdapter(logger, {"job_id": "adapter"}).info("adapted")
    assert stream.getvalue() == "adapter test.logcontext adapted\n"


def test_the_context_is_restored_after_the_block(captured):
    logger, stream = captured
    with logcontext.job_context("outer"):
        with logcontext.job_context("inner"):
            pass
        assert logcontext.current_job_id() == "outer"
    assert logcontext.current_job_id() == "-"


def test_installing_twice_wraps_once():
    logcontext.install()
    wrapped = logging.Logger.makeRecord
    logcontext.install()
    try:
        assert logging.Logger.makeRecord is wrapped
    finally:
        logcontext.uninstall()
        logcontext.uninstall()


def test_the_hook_stays_until_every_install_is_undone_then_make_record_is_as_it_was():
    before = logging.Logger.makeRecord
    logcontext.install()
    logcontext.install()
    logcontext.uninstall()
    assert logging.Logger.makeRecord is logcontext._make_record
    logcontext.uninstall()
    assert logging.Logger.makeRecord is before


def test_a_wrapper_another_library_puts_over_the_hook_is_left_in_place_and_never_wrapped_twice():
    before = logging.Logger.makeRecord
    logcontext.install()
    hooked = logging.Logger.makeRecord

    def other_library(self, *args, **kwargs):
        return hooked(self, *args, **kwargs)

    logging.Logger.makeRecord = other_library
    logcontext.uninstall()
    assert logging.Logger.makeRecord is other_library
    logcontext.install()
    assert logging.Logger.makeRecord is other_library
    assert logging.getLogger("test").makeRecord("x", logging.INFO, __file__, 1, "m", (), None).job_id == "-"
    logging.Logger.makeRecord = hooked  # the other library takes its wrapper out
    logcontext.uninstall()
    assert logging.Logger.makeRecord is before


def test_show_job_id_changes_only_handlers_with_pyclowders_default_format():
    pyclowder_style = logging.StreamHandler(io.StringIO())
    pyclowder_style.setFormatter(logging.Formatter(logcontext.PYCLOWDER_FORMAT, "%H:%M"))
    custom = logging.StreamHandler(io.StringIO())
    custom.setFormatter(logging.Formatter("%(message)s"))
    replaced = logcontext.show_job_id([pyclowder_style, custom])
    assert (pyclowder_style.formatter._fmt, pyclowder_style.formatter.datefmt) == (logcontext.DEFAULT_FORMAT, "%H:%M")
    assert custom.formatter._fmt == "%(message)s"
    assert [handler for handler, _, _ in replaced] == [pyclowder_style]


def test_restoring_formatters_leaves_one_the_application_changed_since():
    mine = logging.StreamHandler(io.StringIO())
    theirs = logging.StreamHandler(io.StringIO())
    originals = [logging.Formatter(logcontext.PYCLOWDER_FORMAT) for _ in range(2)]
    mine.setFormatter(originals[0])
    theirs.setFormatter(originals[1])
    replaced = logcontext.show_job_id([mine, theirs])
    changed_since = logging.Formatter("%(message)s")
    theirs.setFormatter(changed_since)
    logcontext.restore_formatters(replaced)
    assert (mine.formatter, theirs.formatter) == (originals[0], changed_since)


def test_a_jobs_sink_gets_each_record_of_its_thread_with_the_secret_masked(captured):
    logger, _ = captured
    copies = []
    previous = logcontext.enter_job("job-1", "topsecret", copies.append)
    try:
        logger.info("url is %s", "http://h/api?key=topsecret")
        logging.getLogger("test.logcontext.quiet").debug("below the level")
    finally:
        logcontext.leave_job(previous)
    logger.info("after the job")
    assert [(record.getMessage(), record.job_id) for record in copies] == [("url is http://h/api?key=*****", "job-1")]


def test_a_sink_does_not_get_records_of_other_threads(captured):
    logger, _ = captured
    copies = []
    previous = logcontext.enter_job("job-1", None, copies.append)
    try:
        thread = threading.Thread(target=logger.info, args=("elsewhere",))
        thread.start()
        thread.join()
    finally:
        logcontext.leave_job(previous)
    assert copies == []


def test_a_sink_that_fails_does_not_disturb_logging(captured):
    logger, stream = captured

    def broken(record):
        raise RuntimeError("broken")

    previous = logcontext.enter_job("job-1", None, broken)
    try:
        logger.info("still logged")
    finally:
        logcontext.leave_job(previous)
    assert stream.getvalue() == "job-1 test.logcontext still logged\n"


def test_a_jobs_secret_is_masked_in_messages_made_in_its_thread(captured):
    logger, stream = captured
    with logcontext.job_context("job-1", secret="topsecret"):
        logger.info("url is %s", "http://h/api?key=topsecret")
    assert stream.getvalue() == "job-1 test.logcontext url is http://h/api?key=*****\n"


def test_a_jobs_secret_is_masked_in_tracebacks(captured):
    logger, stream = captured
    with logcontext.job_context("job-1", secret="topsecret"):
        try:
            raise ValueError("bad key topsecret")
        except ValueError:
            logger.exception("failed")
    assert "topsecret" not in stream.getvalue() and "bad key *****" in stream.getvalue()


def test_a_bad_format_string_is_left_for_the_handler_to_report(captured):
    logger, _ = captured
    with logcontext.job_context("job-1", secret="topsecret"):
        record = logger.makeRecord("x", logging.INFO, __file__, 1, "%d", ("not a number",), None)
    assert (record.msg, record.args, record.job_id) == ("%d", ("not a number",), "job-1")
