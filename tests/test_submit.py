"""``pyclowder-jobs submit``: real extractors, tracked and plain, run local files without a Clowder."""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
from importlib.metadata import version

import pytest
import requests

from broker import RABBITMQ_URI
from pyclowder_jobs.testing.clowder import StandInClowder
from pyclowder_jobs.tools.submit import Job, UsageError, parse_parameters

CONSOLE_SCRIPT = shutil.which("pyclowder-jobs", path=os.path.dirname(sys.executable)) or "pyclowder-jobs"
#: pyClowder 3 calls Clowder v2's API when CLOWDER_VERSION is 2; pyClowder 2 knows v1's only.
V2_API = "/api/v2/files/" if int(version("pyclowder").split(".")[0]) >= 3 else "/api/files/"


def submit(*arguments, timeout=120):
    """Run ``pyclowder-jobs submit`` on the test broker; (exit code, stdout, stderr)."""
    done = subprocess.run([CONSOLE_SCRIPT, "submit", *arguments, "--rabbitmq-uri", RABBITMQ_URI],
                          capture_output=True, timeout=timeout, env=dict(os.environ, COLUMNS="250"))
    return done.returncode, done.stdout.decode("utf-8"), done.stderr.decode("utf-8")


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "words.txt"
    path.write_text("one two three\nfour five\n")
    return str(path)


def lines(out, label):
    """The live lines of one kind (``START``, ``PROGRESS``, ``LOG``...)."""
    return [line for line in out.splitlines() if re.match(r"^\s*\+\d+\.\d+s\s+\S+\s+\S+\s+%s\b" % label, line)]


# against real extractors -----------------------------------------------------------------------

@pytest.mark.broker
def test_a_tracked_extractor_shows_replies_progress_and_log_lines_and_exits_0(broker, start_extractor, text_file,
                                                                               tmp_path):
    start_extractor("behave/with_auto.py")
    other = tmp_path / "other.csv"
    other.write_text("a,b\n")
    code, out, err = submit(text_file, str(other), "--queue", broker.queue, "--param", "steps=2",
                            "--param", "seconds=0.4")

    assert code == 0, out + err
    assert len(lines(out, "START")) == 2 and len(lines(out, "DONE")) == 2
    assert any("2/2 steps" in line for line in lines(out, "PROGRESS"))
    assert any("behave: working on" in line for line in lines(out, "LOG"))
    assert not any("StatusMessage." in line for line in lines(out, "LOG"))  # pyClowder's echo of each reply
    assert re.search(r"^words\.txt\s+[0-9a-f]{24}\s+SUCCEEDED", out, re.M)
    assert out.rstrip().endswith("2 jobs: 2 succeeded")
    assert 'with parameters {"steps": 2, "seconds": 0.4}' in out


@pytest.mark.broker
def test_a_plain_pyclowder_extractor_shows_its_replies_and_exits_0(broker, start_extractor, text_file):
    start_extractor("behave/plain.py")
    code, out, err = submit(text_file, "--queue", broker.queue, "--param", "steps=2")

    assert code == 0, out + err
    assert lines(out, "START") and lines(out, "DONE")
    assert any("2/2 steps" in line for line in lines(out, "PROCESSING"))
    assert lines(out, "LOG") == []
    assert out.rstrip().endswith("1 job: 1 succeeded")


@pytest.mark.broker
def test_a_failed_job_exits_1_and_says_where_its_request_went(broker, start_extractor, text_file):
    start_extractor("behave/with_auto.py")
    code, out, _ = submit(text_file, "--queue", broker.queue, "--param", "fail=true")

    assert code == 1
    assert re.search(r"FAILED .*asked to fail; the request is on error\.%s" % re.escape(broker.queue), out)
    assert out.rstrip().endswith("1 job: 1 failed")


@pytest.mark.broker
def test_a_skipped_job_is_not_a_failure(broker, start_extractor, text_file):
    start_extractor("behave/with_auto.py")
    code, out, _ = submit(text_file, "--queue", broker.queue, "--clowder", "2", "--parameters", '{"skip": true}')

    assert code == 0
    assert lines(out, "SKIP") and "SKIPPED" in out and out.rstrip().endswith("1 job: 1 skipped")


@pytest.mark.broker
def test_a_retried_job_is_followed_to_its_second_attempt(broker, start_extractor, text_file):
    start_extractor("behave/with_auto.py")
    code, out, _ = submit(text_file, "--queue", broker.queue, "--param", "retry=true")

    assert code == 0
    assert lines(out, "RETRY") and any("(attempt 2)" in line for line in lines(out, "DONE"))
    assert re.search(r"SUCCEEDED .*after 2 attempts", out)


@pytest.mark.broker
@pytest.mark.parametrize("clowder, api", [("1", "/api/files/"), ("2", V2_API)])
def test_the_word_count_example_downloads_the_file_and_uploads_its_counts(broker, start_extractor, text_file,
                                                                          clowder, api):
    start_extractor("wordcount/wordcount.py", env={"CLOWDER_VERSION": clowder})
    code, out, err = submit(text_file, "--queue", broker.queue, "--clowder", clowder)

    assert code == 0, out + err
    assert any(api in line for line in lines(out, "DOWNLOAD"))
    assert any('{"lines": "2", "words": "5", "characters": "24"}' in line for line in lines(out, "METADATA"))
    assert "Downloading file." in out and "SUCCEEDED" in out


@pytest.mark.broker
def test_a_file_name_with_markup_and_escape_sequences_is_printed_as_text(broker, start_extractor, tmp_path):
    start_extractor("behave/with_auto.py")
    hostile = tmp_path / "[i]x[bold]\x1b]0;title\x07\x1b[2J.txt"
    hostile.write_text("x")
    code, out, _ = submit(str(hostile), "--queue", broker.queue)

    assert code == 0
    assert "[i]x[bold].txt" in out
    assert not any(escape in out for escape in ("\x1b", "\x07"))


@pytest.mark.broker
def test_jobs_that_nobody_takes_time_out_and_exit_1(broker, text_file):
    code, out, _ = submit(text_file, "--queue", broker.queue, "--timeout", "1")

    assert code == 1
    assert "nothing consumes %s yet" % broker.queue in out
    assert "TIMED OUT" in out and out.rstrip().endswith("1 job: 1 timed out")


@pytest.mark.broker
def test_a_queue_that_does_not_exist_is_a_usage_problem(text_file):
    code, out, err = submit(text_file, "--queue", "no-such-queue.pyclowder-jobs-test")

    assert code == 2 and out == ""
    assert "no queue no-such-queue.pyclowder-jobs-test on the broker" in err and "start the extractor" in err


@pytest.mark.broker
def test_a_listening_address_in_use_is_a_usage_problem(broker, text_file):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        code, _, err = submit(text_file, "--queue", broker.queue, "--listen", "127.0.0.1:%d" % taken.getsockname()[1])

    assert code == 2
    assert "cannot serve the files on 127.0.0.1:" in err and "give another --listen" in err


def test_a_missing_file_is_a_usage_problem(tmp_path):
    code, _, err = submit(str(tmp_path / "nope.txt"), "--queue", "q")

    assert code == 2
    assert "no such file: %s" % (tmp_path / "nope.txt") in err


def test_an_unreachable_broker_is_a_usage_problem_without_the_password(text_file):
    done = subprocess.run([CONSOLE_SCRIPT, "submit", text_file, "--queue", "q", "--rabbitmq-uri",
                           "amqp://guest:s3cret@127.0.0.1:1/%2f"], capture_output=True, text=True, timeout=60)

    assert done.returncode == 2
    assert "cannot reach the broker at amqp://guest@127.0.0.1:1/%2f" in done.stderr and "s3cret" not in done.stderr


@pytest.mark.parametrize("arguments", [["--param", "novalue"], ["--parameters", "{not json"],
                                       ["--parameters", "[1, 2]"], ["--clowder", "3"], ["--listen", "host:port"]])
def test_bad_options_are_usage_problems(text_file, arguments):
    code, _, err = submit(text_file, "--queue", "q", *arguments)

    assert code == 2
    assert err.strip()


# pieces -----------------------------------------------------------------------------------------

def test_parameters_are_json_where_they_read_as_json_and_text_elsewhere():
    assert parse_parameters(["steps=4", "fail=true", "name=report", "ratio=0.5", "list=[1]"], '{"a": 1}') == {
        "a": 1, "steps": 4, "fail": True, "name": "report", "ratio": 0.5, "list": [1]}
    assert parse_parameters([], None) is None


def test_a_key_value_pair_without_an_equals_sign_is_refused():
    with pytest.raises(UsageError, match="KEY=VALUE"):
        parse_parameters(["steps"], None)


@pytest.mark.parametrize("replies, outcome", [
    (["start", "processing", "done"], "SUCCEEDED"),
    (["start", "skip", "done"], "SKIPPED"),
    (["start", "error"], "FAILED"),
    (["start", "retry", "start", "done"], "SUCCEEDED"),
    (["start", "skip", "retry", "start", "done"], "SUCCEEDED"),
    (["start", "processing"], None),
])
def test_a_job_ends_as_its_last_attempt_ended(replies, outcome):
    job = Job("f.txt", "f.txt", "file-1", "job-1")
    for number, kind in enumerate(replies):
        job.take("StatusMessage." + kind, kind, float(number))

    assert job.outcome == outcome


@pytest.fixture
def clowder():
    with StandInClowder(key="the-key") as server:
        yield server


@pytest.mark.parametrize("path, how", [("api/files/{id}?key=the-key", {}),
                                       ("api/v2/files/{id}", {"X-API-KEY": "the-key"})])
def test_the_stand_in_serves_a_download_with_the_key_as_v1_and_v2_send_it(clowder, path, how):
    file_id = clowder.add_file(b"content", name="a.txt")
    found = requests.get(clowder.url + path.format(id=file_id), headers=how, timeout=10)

    assert found.status_code == 200 and found.content == b"content"


def test_the_stand_in_refuses_a_call_without_the_key(clowder):
    file_id = clowder.add_file(b"content")
    found = requests.get(clowder.url + "api/files/%s?key=wrong" % file_id, timeout=10)

    assert found.status_code == 401
    assert clowder.calls[-1].status == 401 and "wrong" not in clowder.calls[-1].path


@pytest.mark.parametrize("path, version", [("api/files/{id}/metadata?key=the-key", 1),
                                           ("api/v2/files/{id}/summary?key=the-key", 2)])
def test_the_stand_in_describes_a_file_as_each_api_does(clowder, path, version):
    file_id = clowder.add_file(b"12345", name="a.txt")
    described = requests.get(clowder.url + path.format(id=file_id), timeout=10).json()

    assert described["id"] == file_id
    assert (described["filename"], described["size"]) == ("a.txt", "5") if version == 1 else \
        (described["name"], described["bytes"]) == ("a.txt", 5)


@pytest.mark.parametrize("path", ["api/files/{id}/metadata.jsonld?key=the-key", "api/v2/files/{id}/metadata"])
def test_the_stand_in_keeps_uploaded_metadata_and_lists_it(clowder, path):
    file_id = clowder.add_file(b"x")
    url = clowder.url + path.format(id=file_id)
    posted = requests.post(url, data=json.dumps({"content": {"lines": 1}}), headers={"X-API-KEY": "the-key"},
                           timeout=10)

    assert posted.status_code == 200
    assert clowder.metadata == [{"file_id": file_id, "metadata": {"content": {"lines": 1}}}]
    assert requests.get(url, headers={"X-API-KEY": "the-key"}, timeout=10).json() == [{"content": {"lines": 1}}]


def test_the_stand_in_answers_404_to_what_it_does_not_serve_and_tells_it(clowder):
    told = []
    clowder.on_call = told.append
    found = requests.post(clowder.url + "api/previews?key=the-key", data=b"x", timeout=10)

    assert found.status_code == 404
    assert [(call.method, call.path, call.status) for call in told] == [("POST", "/api/previews", 404)]
