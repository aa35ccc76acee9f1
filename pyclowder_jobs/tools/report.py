"""Figures per extractor and per worker, computed from job dicts: where the time goes.

Each row counts jobs, successes and failures, the success rate (succeeded over jobs that ended:
succeeded, failed or lost), the 50th and 95th percentiles of run time and queue wait, and the
throughput (finished jobs per minute over the span between the first and the last finish).
"""

from __future__ import annotations

import math
from typing import Any, Dict, Iterable, List, Optional, Sequence

from pyclowder_jobs.protocol.times import to_ms

#: Statuses that count as a job that ended, for the success rate.
ENDED = ("SUCCEEDED", "FAILED", "LOST")


def percentile(values: Sequence[float], fraction: float) -> Optional[float]:
    """The ``fraction`` percentile (0 to 1) by linear interpolation between ranks; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def figures(jobs: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    """The figures of one group of jobs."""
    count = {status: 0 for status in ENDED}
    run_times, waits, finishes, starts = [], [], [], []
    for job in jobs:
        if job["status"] in count:
            count[job["status"]] += 1
        if job["finished"] is not None:
            finishes.append(to_ms(job["finished"]))
            if job["run_time"] is not None:
                run_times.append(job["run_time"])
            begun = job["started"] or job["submitted"]
            if begun is not None:
                starts.append(to_ms(begun))
        if job["queue_wait"] is not None:
            waits.append(job["queue_wait"])
    ended = sum(count.values())
    throughput = None
    if len(finishes) > 1 and starts and max(finishes) > min(starts):
        # finished jobs over the span from the first of them to start to the last to finish
        throughput = len(finishes) / ((max(finishes) - min(starts)) / 60000)
    return {
        "jobs": len(jobs),
        "succeeded": count["SUCCEEDED"],
        "failed": count["FAILED"],
        "lost": count["LOST"],
        "success_rate": count["SUCCEEDED"] / ended if ended else None,
        "run_time_p50": percentile(run_times, 0.5),
        "run_time_p95": percentile(run_times, 0.95),
        "queue_wait_p50": percentile(waits, 0.5),
        "queue_wait_p95": percentile(waits, 0.95),
        "throughput_per_min": throughput,
    }


def stats(jobs: Iterable[Dict[str, Any]], heartbeats: Iterable[Dict[str, Any]] = (),
          rejected: int = 0) -> Dict[str, Any]:
    """``{"extractors": [...], "workers": [...], "rejected": n}``: one row of figures per extractor and
    per worker, and how many documents the store rejected (they are in no job).

    A job run by several workers (a retry elsewhere) counts for each of them.  Worker rows carry
    the worker's ``host`` and ``queue`` when a heartbeat tells them.
    """
    by_extractor: Dict[str, List[Dict[str, Any]]] = {}
    by_worker: Dict[str, List[Dict[str, Any]]] = {}
    for job in jobs:
        by_extractor.setdefault(job["extractor"] or "?", []).append(job)
        for worker in job["workers"]:
            by_worker.setdefault(worker, []).append(job)
    known = {}
    for beat in heartbeats:
        tracking = beat.get("tracking") if isinstance(beat.get("tracking"), dict) else {}
        known[beat.get("id")] = {"host": tracking.get("host"), "queue": beat.get("queue")}
    return {
        "extractors": [dict(extractor=name, **figures(members)) for name, members in sorted(by_extractor.items())],
        "workers": [dict(worker=name, host=known.get(name, {}).get("host"), queue=known.get(name, {}).get("queue"),
                         **figures(members)) for name, members in sorted(by_worker.items())],
        "rejected": rejected,
    }


def rejected_line(figures: Dict[str, Any], db: str) -> str:
    """The line that tells how many documents were rejected, and how to list them; empty when none were."""
    count = figures.get("rejected") or 0
    return ("rejected documents (not stored or folded): %d; `pyclowder-jobs rejected --db %s` lists them"
            % (count, db)) if count else ""
