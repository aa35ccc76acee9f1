"""examples/README.rst: every command it gives, run as given (from the repository's top folder) on the broker."""
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time

import pika
import pytest

from broker import EXAMPLES, RABBITMQ_URI

README = EXAMPLES / "README.rst"
TOP = EXAMPLES.parent
CONSOLE_SCRIPT = shutil.which("pyclowder-jobs", path=os.path.dirname(sys.executable)) or "pyclowder-jobs"
INSTALL = "pip install -e '.[tools]'"


def readme_commands():
    """The ``$`` lines of the README's console blocks, in order: (command, expected exit code).

    A command that should fail says so in a trailing comment (``# exits 1``).
    """
    found, in_block = [], False
    for line in README.read_text().splitlines():
        if line.startswith(".. code-block:: console"):
            in_block = True
        elif line and not line.startswith(" "):
            in_block = False
        elif in_block and line.strip().startswith("$ "):
            command, _, comment = line.strip()[2:].partition("  # ")
            told = re.search(r"exits (\d+)", comment)
            found.append((command.strip(), int(told.group(1)) if told else 0))
    return found


def split(command):
    """(environment variables, argv) of a shell command line."""
    words = shlex.split(command)
    env = {}
    while "=" in words[0] and not words[0].startswith("-"):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    return env, words


def is_extractor(command):
    return split(command)[1][0] == "python"


def is_submit(command):
    return split(command)[1][:2] == ["pyclowder-jobs", "submit"]


def queue_of(command):
    """The extractor's queue: the name in the extractor_info.json beside its script."""
    script = TOP / split(command)[1][1]
    return json.loads((script.parent / "extractor_info.json").read_text())["name"]


class Extractor:
    """An example started with the README's command line."""

    def __init__(self, command, log_path):
        env, argv = split(command)
        self.queue = queue_of(command)
        self.log_path = log_path
        self._log = open(log_path, "w")
        self.process = subprocess.Popen([sys.executable] + argv[1:], cwd=TOP, stdout=self._log,
                                        stderr=subprocess.STDOUT,
                                        env=dict(os.environ, RABBITMQ_URI=RABBITMQ_URI, PYTHONUNBUFFERED="1", **env))

    def wait_until_consuming(self, timeout=60.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError("the extractor exited:\n" + self.log_path.read_text())
            if consumers(self.queue):
                return
            time.sleep(0.2)
        raise AssertionError("the extractor did not start consuming:\n" + self.log_path.read_text())

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


def consumers(queue):
    connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URI))
    try:
        return connection.channel().queue_declare(queue=queue, passive=True).method.consumer_count
    except pika.exceptions.ChannelClosedByBroker:
        return 0
    finally:
        connection.close()


def delete_queues(queues):
    connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URI))
    channel = connection.channel()
    for queue in queues:
        channel.queue_delete(queue=queue)
        channel.queue_delete(queue="error." + queue)
    connection.close()


def run_submit(command):
    _, argv = split(command)
    done = subprocess.run([CONSOLE_SCRIPT] + argv[1:], cwd=TOP, capture_output=True, text=True, timeout=180,
                          env=dict(os.environ, RABBITMQ_URI=RABBITMQ_URI))
    return done.returncode, done.stdout + done.stderr


def test_the_readme_gives_only_commands_this_test_runs():
    commands = [command for command, _ in readme_commands()]

    assert commands[0] == INSTALL
    assert all(is_extractor(command) or is_submit(command) for command in commands[1:])
    scripts = {split(command)[1][1] for command in commands if is_extractor(command)}
    assert scripts == {str(path.relative_to(TOP)) for path in EXAMPLES.glob("*/*.py")}


@pytest.mark.broker
def test_every_example_runs_with_the_commands_the_readme_gives(tmp_path):
    """Each extractor command starts the example (the one before it stopped); each submit command runs
    against it and exits as the README says. An example the README gives no submit of its own runs the
    first submit of the example before it."""
    commands = [(command, code) for command, code in readme_commands() if command != INSTALL]
    delete_queues({queue_of(command) for command, _ in commands if is_extractor(command)})
    running, submitted, first_submit, failures = None, False, None, []

    def check(command, expected):
        code, output = run_submit(command)
        if code != expected:
            failures.append("%s exited %d, not %d:\n%s\nextractor log:\n%s"
                            % (command, code, expected, output, running.log_path.read_text()))

    try:
        for number, (command, expected) in enumerate(commands):
            if is_extractor(command):
                if running is not None:
                    if not submitted:
                        check(*first_submit)
                    running.stop()
                running = Extractor(command, tmp_path / ("extractor-%d.log" % number))
                running.wait_until_consuming()
                submitted = False
            else:
                if not submitted:
                    first_submit = (command, expected)
                submitted = True
                check(command, expected)
        if not submitted:
            check(*first_submit)
    finally:
        if running is not None:
            running.stop()
        delete_queues({queue_of(command) for command, _ in commands if is_extractor(command)})

    assert failures == []
