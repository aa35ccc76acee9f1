"""The demo's batch of requests: each path a job can take, and the same file sent twice at once."""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

from pyclowder_jobs.protocol.ids import objectid
from pyclowder_jobs.testing.clowder import file_request

#: (file name, Clowder version, whether Clowder sent a job id, what the job is asked to do).
BATCH: List[Tuple[str, int, bool, Dict[str, Any]]] = [
    ("report.csv", 1, False, {"seconds": 3, "steps": 6}),
    ("report.csv", 1, False, {"seconds": 3, "steps": 6}),
    ("broken.txt", 1, True, {"fail": True}),
    ("flaky.txt", 2, True, {"retry": True}),
    ("scan.tif", 2, True, {"seconds": 5, "steps": 10}),
    ("notes.txt", 1, True, {"skip": True}),
    ("quick.txt", 1, False, {}),
]


def requests(host: str, queue: str, secret_key: str) -> List[Dict[str, Any]]:
    """The batch as request bodies; both requests for ``report.csv`` name the same file."""
    file_ids: Dict[str, str] = {}
    bodies = []
    for name, clowder_version, with_id, parameters in BATCH:
        file_id = file_ids.setdefault(name, objectid())
        bodies.append(file_request(clowder_version, host, file_id, queue=queue, secret_key=secret_key,
                                   job_id=objectid() if with_id else None, filename=name,
                                   parameters=parameters, manual=True))
    return bodies


def file_names(bodies: List[Dict[str, Any]]) -> Dict[str, str]:
    """File id to file name, for printing."""
    return {body["id"]: body["filename"] for body in bodies}
