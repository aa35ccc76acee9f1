"""Rule 3: status texts of every era map to one set of states; the parser never raises."""
import pytest
from hypothesis import given, strategies as st

from pyclowder_jobs.server import (CANCEL_REQUESTED, CANCELLED, FAILED, PROCESSING, RESUBMITTED,
                                   SKIPPED, STARTED, SUBMITTED, SUCCEEDED, parse_status)
from pyclowder_jobs.server.status import classify

ERAS = [
    # Clowder v1 server
    ("SUBMITTED", SUBMITTED),
    ("Cancel Requested", CANCEL_REQUESTED),
    ("Cancel Success", CANCELLED),
    ("Cancel Failed", PROCESSING),
    # pyclowder 1.x: free text, no prefix
    ("Started processing file", STARTED),
    ("Downloading file.", PROCESSING),
    ("Uploading file metadata.", PROCESSING),
    ("Error processing", FAILED),
    ("Done", SUCCEEDED),
    ("DONE", SUCCEEDED),
    # pyclowder 2.0.2 to 2.2.x
    ("StatusMessage.start: Started processing", STARTED),
    ("StatusMessage.processing: Downloading file.", PROCESSING),
    ("StatusMessage.processing: Resubmitting message (attempt #2)", RESUBMITTED),
    ("StatusMessage.error: ValueError: cannot parse header", FAILED),
    # pyclowder 2.3.0
    ("STARTED: Started processing", STARTED),
    ("PROCESSING: Downloading file.", PROCESSING),
    ("SUCCEEDED: Done", SUCCEEDED),
    ("SKIPPED: nothing to do", SKIPPED),
    ("RESUBMITTED: (#1) ConnectionError", RESUBMITTED),
    ("ERROR: Traceback ...", FAILED),
    # pyclowder 2.3.1 and later
    ("StatusMessage.start: Started processing.", STARTED),
    ("StatusMessage.skip: Skipped in check_message", SKIPPED),
    ("StatusMessage.retry: (#1) ConnectionError: clowder unreachable", RESUBMITTED),
    ("StatusMessage.done: Done processing.", SUCCEEDED),
    # Clowder v2 prefixes and job states
    ("START: Started processing", STARTED),
    ("DONE: done", SUCCEEDED),
    ("SKIP: nothing to do", SKIPPED),
    ("RETRY: again", RESUBMITTED),
    ("CREATED", SUBMITTED),
    ("ERROR", FAILED),
    ("SUCCEEDED", SUCCEEDED),
]


@pytest.mark.parametrize("text, state", ERAS)
def test_status_text_of_every_era_maps_to_its_state(text, state):
    assert parse_status(text) == state


def test_prefixes_are_read_whatever_their_case_and_spacing():
    assert parse_status("  statusmessage.Error :  boom ") == FAILED


def test_unknown_text_is_processing():
    assert parse_status("Computing the 42nd tile") == PROCESSING


def test_a_progress_text_mentioning_done_is_progress_when_prefixed():
    assert parse_status("StatusMessage.processing: Done downloading") == PROCESSING


def test_bare_done_is_a_soft_success_that_later_progress_may_overturn():
    assert classify("DONE") == (SUCCEEDED, True)
    assert classify("StatusMessage.done: Done processing.") == (SUCCEEDED, False)


def test_texts_that_are_not_strings_are_processing():
    assert parse_status(None) == PROCESSING
    assert parse_status(42) == PROCESSING


@given(st.text())
def test_the_parser_never_raises_on_arbitrary_text(text):
    assert parse_status(text) in {SUBMITTED, STARTED, PROCESSING, SUCCEEDED, FAILED, SKIPPED,
                                  RESUBMITTED, CANCEL_REQUESTED, CANCELLED}


@given(st.sampled_from(["StatusMessage.", "StatusMessage.start", "ERROR", ":", "DONE"]), st.text())
def test_the_parser_never_raises_on_text_after_a_known_prefix(prefix, rest):
    assert parse_status(prefix + rest) in {SUBMITTED, STARTED, PROCESSING, SUCCEEDED, FAILED,
                                           SKIPPED, RESUBMITTED, CANCEL_REQUESTED, CANCELLED}
