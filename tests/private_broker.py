"""A RabbitMQ node of a test's own, to restart at will: its own node name, ports, data folder and
Erlang cookie, so that the shared broker is never touched."""

import os
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pika

#: The ports a private node may take (AMQP and Erlang distribution).
PORTS = range(5700, 5800)
SBIN = Path("/usr/lib/rabbitmq/bin")


def _script(name):
    """The RabbitMQ script itself (the one in /usr/sbin switches to the rabbitmq user when run as root)."""
    direct = SBIN / name
    return str(direct) if direct.exists() else shutil.which(name)


def available():
    """Whether this machine can run a RabbitMQ node of its own."""
    return _script("rabbitmq-server") is not None and _script("rabbitmqctl") is not None


def _free_ports(count):
    found = []
    for port in PORTS:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        found.append(port)
        if len(found) == count:
            return found
    raise RuntimeError("no %d free ports in %d-%d for a private RabbitMQ node" % (count, PORTS[0], PORTS[-1]))


class PrivateRabbit:
    """A RabbitMQ node under ``base`` (a folder of its own), on free ports from :data:`PORTS`."""

    def __init__(self, base):
        self.base = Path(base)
        self.port, self.dist_port = _free_ports(2)
        self.name = "pyclowder-jobs-test-%d@localhost" % self.port
        self.uri = "amqp://guest:guest@127.0.0.1:%d/%%2f" % self.port
        home = self.base / "home"
        home.mkdir(parents=True, exist_ok=True)
        cookie = home / ".erlang.cookie"
        cookie.write_text(secrets.token_hex(20))
        cookie.chmod(0o400)
        (self.base / "rabbitmq.conf").write_text("listeners.tcp.1 = 127.0.0.1:%d\n" % self.port)
        (self.base / "rabbitmq-env.conf").write_text("")
        (self.base / "enabled_plugins").write_text("[].\n")
        self.env = dict(os.environ, HOME=str(home), RABBITMQ_NODENAME=self.name, RABBITMQ_NODE_PORT=str(self.port),
                        RABBITMQ_DIST_PORT=str(self.dist_port), RABBITMQ_CONFIG_FILE=str(self.base / "rabbitmq.conf"),
                        RABBITMQ_CONF_ENV_FILE=str(self.base / "rabbitmq-env.conf"),
                        RABBITMQ_ENABLED_PLUGINS_FILE=str(self.base / "enabled_plugins"),
                        RABBITMQ_MNESIA_BASE=str(self.base / "mnesia"), RABBITMQ_LOG_BASE=str(self.base / "log"),
                        RABBITMQ_PID_FILE=str(self.base / "node.pid"), ERL_EPMD_ADDRESS="127.0.0.1")

    def ctl(self, *args, timeout=120):
        found = subprocess.run([_script("rabbitmqctl"), "-n", self.name, *args], env=self.env, capture_output=True,
                               text=True, timeout=timeout)
        if found.returncode != 0:
            raise AssertionError("rabbitmqctl %s failed: %s%s" % (" ".join(args), found.stdout, found.stderr))
        return found.stdout

    def start(self):
        """Start the node (with its data from before, if any) and wait until it takes connections."""
        subprocess.run([_script("rabbitmq-server"), "-detached"], env=self.env, check=True, timeout=60,
                       capture_output=True)
        self.ctl("wait", str(self.base / "node.pid"), "--timeout", "120", timeout=150)
        self._wait_for_amqp()

    def stop(self):
        """Stop the whole node (the Erlang VM too)."""
        self.ctl("stop", str(self.base / "node.pid"))

    def stop_app(self):
        self.ctl("stop_app")

    def start_app(self):
        self.ctl("start_app")
        self._wait_for_amqp()

    def connect(self):
        return pika.BlockingConnection(pika.URLParameters(self.uri))

    def _wait_for_amqp(self, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.connect().close()
                return
            except pika.exceptions.AMQPConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
