"""The job id on log records (DESIGN 5.3)."""

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
    assert logging.Logger.makeRecord is wrapped


def test_pyclowders_default_format_gains_the_job_id_and_other_formats_stay():
    root = logging.getLogger()
    pyclowder_style = logging.StreamHandler(io.StringIO())
    pyclowder_style.setFormatter(logging.Formatter(logcontext.PYCLOWDER_FORMAT))
    custom = logging.StreamHandler(io.StringIO())
    custom.setFormatter(logging.Formatter("%(message)s"))
    root.addHandler(pyclowder_style)
    root.addHandler(custom)
    try:
        logcontext.show_job_id_in_default_format()
        assert pyclowder_style.formatter._fmt == logcontext.DEFAULT_FORMAT
        assert custom.formatter._fmt == "%(message)s"
    finally:
        root.removeHandler(pyclowder_style)
        root.removeHandler(custom)


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
