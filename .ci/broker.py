"""Exit 0 once the AMQP port of RABBITMQ_URI (default 127.0.0.1:5672) accepts connections."""
import argparse
import os
import socket
import sys
import time
from urllib.parse import urlparse

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--wait", type=float, default=0, help="seconds to keep trying")
args = parser.parse_args()

uri = urlparse(os.environ.get("RABBITMQ_URI", "amqp://guest:guest@127.0.0.1:5672/%2f"))
address = (uri.hostname or "127.0.0.1", uri.port or 5672)
deadline = time.monotonic() + args.wait
while True:
    try:
        socket.create_connection(address, timeout=2).close()
        print("RabbitMQ is reachable at %s:%s" % address)
        sys.exit(0)
    except OSError as exc:
        if time.monotonic() >= deadline:
            print("RabbitMQ is not reachable at %s:%s: %s" % (address + (exc,)), file=sys.stderr)
            sys.exit(1)
        time.sleep(1)
