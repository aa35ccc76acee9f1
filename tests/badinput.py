"""Generated hostile input: request bodies for extractors, and events for the fold and the recorder.

Seeded, so a failure can be replayed: ``bodies(n, seed)`` gives the same bodies every time.
"""

import json
import random

GOOD = {"id": "file-1", "host": "http://127.0.0.1:9/", "secretKey": "fuzz-secret-key",
        "routing_key": "*.file.text.plain", "filename": "a.txt", "fileSize": "3", "datasetId": "ds-1"}

_WEIRD_VALUES = [None, True, False, 0, -1, 2 ** 70, 1.5, float("nan"), "", " ", "\u0000", "\ud7ff" * 3,
                 "\ud800", "a\udfff\ud800", "\uffff", "\U0010ffff", 2 ** 64, -(10 ** 30), float("inf"), float("-inf"),
                 "x" * 10000, "../../etc/passwd", "<script>alert(1)</script>", "'; DROP TABLE jobs;--",
                 [], [1, 2], {}, {"$oid": "5c8a6c70a1b2c3d4e5000010"}, {"nested": {"deep": [None]}}]


def _weird(rng):
    value = rng.choice(_WEIRD_VALUES)
    if rng.random() < 0.2:
        value = [value] * rng.randint(1, 5)
    return value


def _body(rng):
    kind = rng.randrange(9)
    if kind == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randint(0, 200)))  # random bytes
    if kind == 1:
        return json.dumps(GOOD)[: rng.randint(0, 60)].encode()  # truncated JSON
    if kind == 2:
        return json.dumps(_weird(rng)).encode()  # JSON that is not an object
    if kind == 3:
        return ("[" * rng.randint(1000, 50000)).encode()  # nested too deeply
    body = dict(GOOD, id="fuzz-%d" % rng.randrange(10 ** 9))
    if kind == 4:
        body[rng.choice(["jobid", "job_id"])] = _weird(rng)  # job ids of the wrong type, length, characters
    elif kind == 5:
        for key in rng.sample(sorted(GOOD), rng.randint(1, len(GOOD))):
            del body[key]  # missing fields
    elif kind == 6:
        for key in rng.sample(sorted(GOOD), rng.randint(1, 3)):
            body[key] = _weird(rng)  # fields of the wrong type
    elif kind == 7:
        body["retry_count"] = _weird(rng)
        body["parameters"] = {"retry": rng.random() < 0.5}
    else:
        body["garbage"] = {"k%d" % i: _weird(rng) for i in range(rng.randint(1, 50))}
        if rng.random() < 0.2:
            body["huge"] = "y" * rng.randint(10 ** 5, 10 ** 6)
    encoded = json.dumps(body, ensure_ascii=rng.random() < 0.5)
    if rng.random() < 0.1:
        return encoded.encode("utf-8", "surrogatepass")
    if rng.random() < 0.1:
        return encoded.encode("iso-8859-1", "replace")
    return encoded.encode("utf-8", "surrogatepass")


def bodies(count, seed=0):
    """``count`` hostile request bodies, as bytes."""
    rng = random.Random(seed)
    return [_body(rng) for _ in range(count)]


def events(count, seed=0):
    """``count`` hostile events for the fold and the recorder: wrong shapes, types and values."""
    rng = random.Random(seed)
    shapes = [
        lambda: _weird(rng),
        lambda: {"_id": _weird(rng), "file_id": _weird(rng), "extractor_id": _weird(rng), "status": _weird(rng),
                 "start": _weird(rng)},
        lambda: {"_id": {"$oid": "%024x" % rng.getrandbits(96)}, "file_id": "f", "extractor_id": "e",
                 "status": rng.choice(["DONE", "SUBMITTED", "StatusMessage.start: x", _weird(rng)]),
                 "start": rng.choice([{"$date": _weird(rng)}, "2019-13-45T99:99:99Z", _weird(rng)]),
                 "job_id": _weird(rng)},
        lambda: {"file_id": "f", "extractor_id": "e", "job_id": "j", "status": "StatusMessage.start: x",
                 "start": "2026-01-01T00:00:00+00:00", "tracking": _weird(rng)},
        lambda: {"file_id": "f", "extractor_id": "e", "job_id": "j", "status": "StatusMessage.processing: x",
                 "start": "2026-01-01T00:00:00+00:00",
                 "tracking": {"v": 1, "worker": _weird(rng), "seq": _weird(rng), "ts": _weird(rng),
                              "kind": _weird(rng), "progress": _weird(rng), "attempt": _weird(rng)}},
        lambda: {"id": _weird(rng), "queue": _weird(rng), "extractor_info": _weird(rng),
                 "tracking": {"interval": _weird(rng), "ts": _weird(rng), "jobs": _weird(rng)}},
        lambda: {"_id": _weird(rng), "listener_id": _weird(rng), "resource_ref": _weird(rng), "status": _weird(rng),
                 "created": _weird(rng)},
        lambda: {"job_id": _weird(rng), "timestamp": _weird(rng), "status": _weird(rng)},
    ]
    return [rng.choice(shapes)() for _ in range(count)]
