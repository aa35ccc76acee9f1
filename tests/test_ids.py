"""Job ids (DESIGN 5.1): which incoming ids are kept, and the shape of new ones."""

import re
import struct
import time
import uuid

import pytest

from pyclowder_jobs.protocol.ids import incoming_job_id, is_valid_job_id, new_job_id, shorten


@pytest.mark.parametrize("value", ["5c8a6c70a1b2c3d4e5000010", "job-1", "a.b_c:d-e", "x" * 64])
def test_short_plain_strings_are_valid_ids(value):
    assert is_valid_job_id(value)


@pytest.mark.parametrize("value", ["", "x" * 65, "a b", "../etc", "id;drop", "é", 12, None, ["a"], {"$oid": "a"}])
def test_anything_else_is_not_a_valid_id(value):
    assert not is_valid_job_id(value)


def test_new_ids_are_24_hex_digits_starting_with_the_time():
    before = int(time.time())
    job_id = new_job_id()
    assert re.fullmatch(r"[0-9a-f]{24}", job_id)
    assert before <= struct.unpack(">I", bytes.fromhex(job_id[:8]))[0] <= int(time.time())


def test_new_ids_are_unique():
    assert len({new_job_id() for _ in range(10000)}) == 10000


def test_the_uuid4_style_makes_uuid4_ids():
    assert uuid.UUID(new_job_id("uuid4")).version == 4


def test_jobid_is_read_before_job_id():
    assert incoming_job_id({"jobid": "a1", "job_id": "b2"}) == ("a1", None)


def test_job_id_is_read_when_jobid_is_absent_or_null():
    assert incoming_job_id({"job_id": "b2"}) == ("b2", None)
    assert incoming_job_id({"jobid": None, "job_id": "b2"}) == ("b2", None)


def test_an_unusable_id_is_reported_and_a_valid_one_still_used():
    assert incoming_job_id({"jobid": "../x", "job_id": "b2"}) == ("b2", ("jobid", "../x"))


def test_a_body_without_ids_has_none():
    assert incoming_job_id({"id": "file"}) == (None, None)


def test_shorten_never_echoes_more_than_64_characters():
    assert len(shorten("x" * 10 ** 6)) <= 64
    assert len(shorten({"deep": ["y" * 1000] * 1000})) <= 64
