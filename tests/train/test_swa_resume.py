"""An SWA run SIGKILLed after epoch k and resumed equals the uninterrupted run, bit for bit."""

import importlib.util
import os
import signal
import subprocess
import sys

import numpy as np
from test_fit_resume import HERE, ROOT, assert_bit_identical

EPOCHS, KILL_AFTER = 4, 2


def load_swa_job():
    spec = importlib.util.spec_from_file_location("_swa_resume_job", os.path.join(HERE, "_swa_resume_job.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_swa_resumes_bit_exactly_after_a_kill(tmp_path):
    job = load_swa_job()
    reference = job.run(str(tmp_path / "reference"), EPOCHS)
    killed_dir = str(tmp_path / "killed")
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    child = subprocess.run(
        [sys.executable, os.path.join(HERE, "_swa_resume_job.py"), killed_dir, str(EPOCHS), str(KILL_AFTER)],
        cwd=ROOT, env=env, capture_output=True, timeout=300,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]
    resumed = job.run(killed_dir, EPOCHS, resume=True)
    assert len(resumed.epoch_seconds) == EPOCHS - KILL_AFTER  # only the rest ran
    samples = (EPOCHS * job.STEPS_PER_EPOCH - reference.state.swa_start) // reference.state.swa_every + 1
    assert int(resumed.state.swa_count) == int(reference.state.swa_count) == samples
    assert not np.array_equal(reference.state.swa_params["Dense_0"]["kernel"], reference.state.params["Dense_0"]["kernel"])
    assert_bit_identical(resumed.state, reference.state)  # params, opt_state, swa_params, swa_count
