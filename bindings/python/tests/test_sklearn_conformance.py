"""scikit-learn's own MLP tests against swiftmlp's estimators (issue #18).

sklearn_conformance/run.py runs the installed scikit-learn's test_mlp.py with
swiftmlp's MLPClassifier and MLPRegressor swapped in and compares every outcome
with sklearn_conformance/expected_failures.txt (each failure with its reason)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

RUNNER = Path(__file__).resolve().parent / "sklearn_conformance" / "run.py"


def test_sklearn_test_mlp_outcomes_match_the_expected_failures() -> None:
    pytest.importorskip("sklearn")
    env = dict(os.environ, CONFORMANCE_QUIET="1")
    result = subprocess.run([sys.executable, str(RUNNER)], capture_output=True, text=True, env=env,
                            timeout=900)
    if result.returncode == 77:
        pytest.skip(result.stdout.strip())
    assert result.returncode == 0, result.stdout + result.stderr
    print(result.stdout)
