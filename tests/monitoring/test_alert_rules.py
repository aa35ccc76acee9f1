"""The bundled Prometheus alert rules load, and fire when they should (``promtool test rules``)."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
RULES = HERE.parents[1] / "pyclowder_jobs" / "tools" / "monitoring" / "alert_rules.yml"


@pytest.fixture(scope="module")
def promtool():
    found = shutil.which("promtool")
    if found is None:
        message = "promtool is not installed (Debian's prometheus package brings it)"
        if os.environ.get("CI"):
            pytest.fail(message + "; in CI the rule tests must run")
        pytest.skip(message)
    return found


def test_the_rule_file_is_valid(promtool):
    done = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 5 rules found" in done.stdout


def test_each_rule_fires_when_it_should_and_only_then(promtool):
    done = subprocess.run([promtool, "test", "rules", "alert_rules_test.yml"], cwd=str(HERE),
                          capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout
