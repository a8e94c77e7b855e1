"""Same bytes for the same seed: every registered method's output on a small case against the
digests recorded in ``tests/data/method_digests.json`` (see ``tests/method_digests.py``).

A failure here means a method's output changed. If that was the point of the change, regenerate
the file and commit it with the change: ``.venv/bin/python -m tests.method_digests``.
"""

import json

import numpy as np
import pytest

from . import method_digests as md

STORED = json.loads(md.DATA.read_text())
SAME_PLATFORM = STORED["platform"] == md.platform_key()
METHODS = md.registered()

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_the_record_is_complete_and_current():
    names = {name for _, name in METHODS}
    assert set(md.EXCLUDED) <= names, "EXCLUDED names a method that is not registered"
    assert STORED["size"] == md.SIZE and STORED["seed"] == md.SEED
    recorded = set(STORED["digests"])
    gone = sorted(recorded - {f"{t}/{n}" for t, n in METHODS})
    assert not gone, f"digests of methods that no longer exist: {gone}; run python -m tests.method_digests"


@pytest.mark.parametrize(("task", "name"), METHODS, ids=[f"{t}/{n}" for t, n in METHODS])
def test_same_bytes_as_recorded(task, name, tmp_path):
    key = f"{task}/{name}"
    if name in md.EXCLUDED:
        pytest.skip(f"{key}: {md.EXCLUDED[name]}")
    if key not in STORED["digests"]:
        pytest.skip(f"no digest recorded yet for {key}: run python -m tests.method_digests")
    want = STORED["digests"][key]
    out = md.run_case(name, task, tmp_path)
    assert out.dtype == np.float32 and np.isfinite(out).all()
    if SAME_PLATFORM and name not in md.PROCESS_STATE_DEPENDENT:
        assert md.digest(out) == want["sha256"], (
            f"{key}: output bytes changed for the same seed (mean {out.mean():.6f}, recorded "
            f"{want['mean']}); if intended, run python -m tests.method_digests and commit the file"
        )
    else:
        # another CPU or other library versions (or a method whose last bits depend on the
        # process's torch state, md.PROCESS_STATE_DEPENDENT): floating-point bytes may differ; the
        # same call twice must still give the same bytes, and the result stay near the recorded one
        again = md.run_case(name, task, tmp_path)
        assert md.digest(out) == md.digest(again), f"{key}: two runs with the same seed differ"
        tol = md.CROSS_PLATFORM_MEAN_TOL.get(name, (0.02, ""))[0]
        assert abs(float(out.mean()) - want["mean"]) < tol, (key, float(out.mean()), want["mean"])
