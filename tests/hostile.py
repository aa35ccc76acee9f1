"""Hostile documents for the consumers (recorder, import, store, watch): every input shape, a hostile
value at every one of its fields, encoded every way a JSON text can carry it.

Seeded, so a failure can be replayed. A hostile value is drawn from all of Unicode (lone surrogates,
non-characters, the last code point), integers beyond 64 bits, NaN and Infinity, very long strings
and deep nesting, besides the wrong types of ``badinput``.
"""

import copy
import json
import random

from pyclowder_jobs.protocol.ids import objectid

EXTRACTOR = "ncsa.hostile"

#: A valid document of each shape the consumers read; ``fill`` gives it unique ids.
SHAPES = {
    "tap status": {"file_id": "file-1", "extractor_id": EXTRACTOR, "job_id": "J", "status": "StatusMessage.start: go",
                   "start": "2026-03-14T15:00:00+00:00", "message_type": "StatusMessage.start", "message": "go",
                   "tracking": {"v": 1, "worker": "W", "host": "node-1", "pid": 100, "seq": 1,
                                "ts": "2026-03-14T15:00:00.000Z", "attempt": 1, "redelivered": False,
                                "kind": "status"}},
    "tap progress": {"file_id": "file-1", "extractor_id": EXTRACTOR, "job_id": "J",
                     "status": "StatusMessage.processing: 1/2", "start": "2026-03-14T15:00:01+00:00",
                     "message_type": "StatusMessage.processing", "message": "1/2",
                     "tracking": {"v": 1, "worker": "W", "host": "node-1", "pid": 100, "seq": 2,
                                  "ts": "2026-03-14T15:00:01.000Z", "attempt": 1, "redelivered": False,
                                  "kind": "progress", "progress": {"done": 1, "total": 2, "unit": "files"}}},
    "tap log": {"file_id": "file-1", "extractor_id": EXTRACTOR, "job_id": "J", "level": "INFO", "logger": "x",
                "message": "a line", "tracking": {"v": 1, "worker": "W", "host": "node-1", "pid": 100, "seq": 3,
                                                  "ts": "2026-03-14T15:00:01.500Z", "attempt": 1,
                                                  "redelivered": False, "kind": "log"}},
    "heartbeat": {"id": "W", "queue": EXTRACTOR, "owner": "ann@example.org",
                  "extractor_info": {"name": EXTRACTOR, "version": "1.0", "process": {"file": ["text/plain"]}},
                  "tracking": {"v": 1, "host": "node-1", "pid": 100, "interval": 5, "ts": "2026-03-14T15:00:02.000Z",
                               "seq": 4, "processed": 0,
                               "jobs": [{"job_id": "J", "resource_id": "file-1", "started": "2026-03-14T15:00:00.000Z",
                                         "last_event": "2026-03-14T15:00:01.000Z"}]}},
    "v1 extraction": {"_id": {"$oid": "O"}, "file_id": {"$oid": "65a1b2c3d4e5f60718293a4b"}, "extractor_id": EXTRACTOR,
                      "job_id": {"$oid": "J"}, "status": "StatusMessage.done: Done processing.",
                      "start": {"$date": "2024-01-12T10:00:09.000Z"}},
    "v2 listener job": {"_id": {"$oid": "J"}, "listener_id": EXTRACTOR,
                        "resource_ref": {"collection": "files", "resource_id": {"$oid": "65a1b2c3d4e5f60718293a4b"},
                                         "version": 1},
                        "creator": {"email": "ann@example.org"}, "created": {"$date": "2024-01-12T10:00:00.000Z"},
                        "started": {"$date": "2024-01-12T10:00:02.000Z"},
                        "updated": {"$date": "2024-01-12T10:00:09.000Z"},
                        "finished": {"$date": {"$numberLong": "1705053609000"}}, "status": "SUCCEEDED",
                        "latest_message": "Done."},
    "v2 job update": {"_id": {"$oid": "O"}, "job_id": "J", "timestamp": {"$date": "2024-01-12T10:00:02.000Z"},
                      "status": "StatusMessage.start: Started processing."},
}

#: Values no consumer may stop on. Deep nesting is made by :func:`_nested`.
HOSTILE = ["\ud800", "a\udfffb", "\udc00\ud800", "\uffff", "\ufdd0", "\U0010ffff", "\U0001f600", "\x00", "\u202e",
           2 ** 63, -2 ** 63 - 1, 2 ** 64, 10 ** 30, -(10 ** 100), float("nan"), float("inf"), float("-inf"), 1e308,
           "x" * 100000, "", None, True, [], {}, {"$oid": "\ud800"}, {"$date": 10 ** 30}, {"$date": float("nan")},
           {"$numberLong": "9" * 40}]


def paths(document, prefix=()):
    """Every field of ``document``: the path of keys and indexes to it, outermost first."""
    found = []
    items = document.items() if isinstance(document, dict) else enumerate(document)
    for key, value in items:
        found.append(prefix + (key,))
        if isinstance(value, (dict, list)):
            found.extend(paths(value, prefix + (key,)))
    return found


def fill(shape, rng):
    """A valid document of ``shape`` with ids of its own (so that it is never a duplicate)."""
    document = copy.deepcopy(SHAPES[shape])
    job, worker, other = objectid(), "worker-%x" % rng.getrandbits(48), objectid()
    text = json.dumps(document).replace('"J"', json.dumps(job)).replace('"W"', json.dumps(worker))
    text = text.replace('"O"', json.dumps(other))
    document = json.loads(text)
    tracking = document.get("tracking")
    if isinstance(tracking, dict) and "seq" in tracking:
        tracking["seq"] = rng.randrange(1, 2 ** 40)
    return document


def _nested(depth):
    value = "bottom"
    for _ in range(depth):
        value = {"d": value}
    return value


def hostile_value(rng):
    """One hostile value: from :data:`HOSTILE`, deep nesting, or a random string from all of Unicode."""
    pick = rng.random()
    if pick < 0.1:
        return _nested(rng.choice([65, 200, 500]))
    if pick < 0.25:
        return "".join(chr(rng.randrange(0x110000)) for _ in range(rng.randint(1, 12)))
    return copy.deepcopy(rng.choice(HOSTILE))


def put(document, path, value):
    """``document`` with ``value`` at ``path``."""
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return document


def plan():
    """Every (shape, field) pair that :func:`documents` tries, in its order."""
    return [(shape, path) for shape in SHAPES for path in paths(SHAPES[shape])]


def documents(count, seed=0):
    """``count`` (shape, path, document) triples: each shape in turn, a hostile value at each of its
    fields in turn (then again), so that every field of every shape is tried once ``count`` reaches
    ``len(plan())``."""
    rng = random.Random(seed)
    fields = plan()
    found = []
    for number in range(count):
        shape, path = fields[number % len(fields)]
        document = put(fill(shape, rng), path, hostile_value(rng))
        if rng.random() < 0.2:  # a second hostile field anywhere
            other = rng.choice(paths(SHAPES[shape]))
            try:
                put(document, other, hostile_value(rng))
            except (KeyError, IndexError, TypeError):
                pass
        found.append((shape, path, document))
    return found


def encode(document, rng):
    """The document as bytes, one of the ways a JSON text may come: escaped (ASCII), raw UTF-8 (lone
    surrogates as the bytes a careless encoder writes), or cut short."""
    way = rng.random()
    if way < 0.5:
        return json.dumps(document).encode()
    if way < 0.95:
        return json.dumps(document, ensure_ascii=False).encode("utf-8", "surrogatepass")
    text = json.dumps(document).encode()
    return text[:rng.randrange(max(1, len(text)))]


def good(count, seed=0):
    """``count`` valid tap events of finished jobs (start and done), each job on its own resource."""
    rng = random.Random(seed)
    found = []
    for _ in range(count // 2):
        start = fill("tap status", rng)
        done = copy.deepcopy(start)
        done["status"], done["message_type"], done["message"] = ("StatusMessage.done: Done processing.",
                                                                 "StatusMessage.done", "Done processing.")
        done["tracking"]["seq"] += 1
        done["file_id"] = start["file_id"] = "good-" + start["job_id"]
        found.extend([start, done])
    return found
