"""An in-memory store with the methods of ``pyclowder_jobs.store.Store``, for the web tests.

It keeps the raw events and folds them again with ``group_events`` when asked; good enough for a
few thousand events, and independent of the real store's storage.
"""
import json
from datetime import datetime
from typing import Any, Dict, Iterable, List, Optional

from pyclowder_jobs.server import group_events
from pyclowder_jobs.server.readers import job_id_text


class MemoryStore:
    """``add_events``, ``jobs``, ``job``, ``raw_events``, ``heartbeats``, ``close``, in memory."""

    def __init__(self, events: Iterable[dict] = (), now: Optional[datetime] = None) -> None:
        self.events: List[dict] = []
        self._seen = set()
        self._jobs: Optional[List[Dict[str, Any]]] = None
        self.now = now
        self.closed = False
        self.add_events(events)

    def add_events(self, events: Iterable[dict]) -> int:
        added = 0
        for event in events:
            key = json.dumps(event, sort_keys=True, default=str)
            if key in self._seen:
                continue
            self._seen.add(key)
            self.events.append(event)
            added += 1
        if added:
            self._jobs = None
        return added

    def _all(self) -> List[Dict[str, Any]]:
        if self._jobs is None:
            found = group_events(self.events, now=self.now)
            self._jobs = [job.to_dict() for job in reversed(found)]
        return self._jobs

    def jobs(self, *, status=None, extractor=None, user=None, resource=None, since=None,
             limit=None) -> List[Dict[str, Any]]:
        found = [job for job in self._all()
                 if (status is None or job["status"] == status)
                 and (extractor is None or job["extractor"] == extractor)
                 and (user is None or job["user"] == user)
                 and (resource is None or job["resource_id"] == resource)
                 and (since is None or job["last_update"] >= since)]
        return found if limit is None else found[:limit]

    def job(self, job_id: str) -> Optional[Dict[str, Any]]:
        for job in self._all():
            if job["job_id"] == job_id:
                return job
        return None

    def raw_events(self, job_id: str) -> List[dict]:
        return [event for event in self.events
                if isinstance(event, dict) and job_id_text(event.get("job_id")) == job_id]

    def heartbeats(self) -> List[dict]:
        latest: Dict[str, dict] = {}
        for event in self.events:
            if isinstance(event, dict) and "extractor_info" in event and isinstance(event.get("id"), str):
                latest[event["id"]] = event
        return list(latest.values())

    def close(self) -> None:
        self.closed = True
