"""``pyclowder_jobs.server`` imports and folds where pyclowder, pika and bson are missing."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "fold" / "modern_retry.events.json"

SCRIPT = r"""
import importlib.abc, json, sys

class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("pyclowder", "pika", "bson"):
            raise ImportError("refused in this test: " + name)
        return None

sys.meta_path.insert(0, Refuse())
for name in [name for name in sys.modules if name.split(".")[0] in ("pyclowder", "pika", "bson")]:
    del sys.modules[name]

from pyclowder_jobs.server import group_events
with open(sys.argv[1]) as stream:
    jobs = group_events(json.load(stream))
loaded = sorted(name for name in sys.modules if name.split(".")[0] in ("pyclowder", "pika", "bson"))
print(json.dumps({"jobs": [job.to_dict() for job in jobs], "loaded": loaded}))
"""


def test_the_server_side_imports_and_folds_without_pyclowder_pika_or_bson():
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(FIXTURE)], cwd=str(ROOT),
                          capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["loaded"] == []
    assert [job["status"] for job in found["jobs"]] == ["SUCCEEDED"]


def test_the_refusing_finder_really_refuses():
    probe = SCRIPT.split("from pyclowder_jobs.server")[0] + "import pika\n"

    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)

    assert done.returncode != 0 and "refused in this test: pika" in done.stderr
