"""Reading requests: decoding as pyClowder does, refusing what cannot be processed, stamping ids."""

import json

import pytest

from pyclowder_jobs.extractor import request


def test_a_request_with_an_id_keeps_its_original_body():
    raw = json.dumps({"id": "f", "jobid": "5c8a6c70a1b2c3d4e5000010"}).encode()
    incoming = request.read(raw, "objectid")
    assert incoming.job_id == "5c8a6c70a1b2c3d4e5000010"
    assert incoming.raw is raw


def test_a_new_id_is_written_into_the_body_so_retries_keep_it():
    incoming = request.read(b'{"id": "f"}', "objectid")
    assert json.loads(incoming.raw)["jobid"] == incoming.job_id
    assert incoming.body["jobid"] == incoming.job_id


def test_an_unusable_id_is_replaced_and_warned_about():
    incoming = request.read(json.dumps({"id": "f", "jobid": "a b"}).encode(), "objectid")
    assert incoming.job_id != "a b"
    assert json.loads(incoming.raw)["jobid"] == incoming.job_id
    assert len(incoming.warnings) == 1 and "ignoring jobid='a b'" in incoming.warnings[0]


@pytest.mark.parametrize("retry_count, attempt", [(None, 1), (0, 1), (2, 3), (-1, 1), ("2", 1), (True, 1), (1.5, 1)])
def test_the_attempt_is_retry_count_plus_one_when_the_count_is_usable(retry_count, attempt):
    body = {"id": "f"} if retry_count is None else {"id": "f", "retry_count": retry_count}
    assert request.read(json.dumps(body).encode(), "objectid").attempt == attempt


def test_the_resource_is_the_file_else_the_dataset():
    assert request.read(b'{"id": "f", "datasetId": "d"}', "objectid").resource_id == "f"
    assert request.read(b'{"datasetId": "d"}', "objectid").resource_id == "d"


def test_a_body_that_is_not_utf8_is_read_as_latin1_with_a_warning():
    incoming = request.read('{"id": "caf\u00e9"}'.encode("iso-8859-1"), "objectid")
    assert incoming.resource_id == "caf\u00e9"
    assert any("not UTF-8" in warning for warning in incoming.warnings)


@pytest.mark.parametrize("raw, reason", [
    (b"not json", "not JSON"),
    (b"[1, 2]", "JSON list, not an object"),
    (b"null", "JSON NoneType, not an object"),
    (b"[" * 100000 + b"]" * 100000, "nested too deeply"),
])
def test_a_body_that_is_not_a_json_object_is_refused_with_the_reason(raw, reason):
    with pytest.raises(request.BadRequest, match=reason):
        request.read(raw, "objectid")


def name_of(body):
    return request.read(json.dumps(body).encode(), "objectid").resource_name


def test_a_file_request_is_named_by_its_filename():
    assert name_of({"id": "f", "filename": "report.csv", "routing_key": "*.file.text.csv"}) == "report.csv"


def test_a_dataset_request_is_named_by_the_datasets_name():
    assert name_of({"id": "d", "datasetId": "d", "resource_type": "dataset", "datasetName": "Survey 2026"}) == \
        "Survey 2026"


def test_a_dataset_request_is_not_named_by_the_file_that_triggered_it():
    assert name_of({"id": "f", "datasetId": "d", "filename": "added.csv", "routing_key": "x.dataset.file.added"}) \
        is None


def test_a_request_without_a_name_has_none():
    assert name_of({"id": "f"}) is None


def test_a_long_filename_is_cut_to_200_characters():
    assert name_of({"id": "f", "filename": "n" * 10000}) == "n" * 200
