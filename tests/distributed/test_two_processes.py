"""Two processes x 4 CPU devices on localhost (``jax.distributed``): a short fsdp ``fit`` with
checkpoints and a resume, compared with the same run in this (one-device) process."""

import glob
import json
import os
from concurrent.futures import ThreadPoolExecutor

import jax
import numpy as np
from _common import data, free_port, loss_fn, params, run_worker

import optlab
from optlab.train import TrainState, fit


def test_two_processes_agree_with_one_and_only_process_0_writes(tmp_path):
    run_dir, out = tmp_path / "run", tmp_path / "result.json"
    port = str(free_port())
    with ThreadPoolExecutor(2) as pool:  # the timeout turns a deadlock into a failure
        done = list(pool.map(lambda i: run_worker("_two_processes.py", str(i), port, str(run_dir), str(out),
                                                  devices=4, timeout=300), (0, 1)))
    for i, proc in enumerate(done):
        assert proc.returncode == 0, (i, proc.stderr[-4000:])
        assert f"process {i} done" in proc.stdout
    assert "fit:" in done[0].stderr and "fit:" not in done[1].stderr  # progress from process 0 only
    got = json.loads(out.read_text())

    x, y = data()
    state = TrainState.create(apply_fn=None, params=params(), tx=optlab.adam(0.01), ema_decay=0.9)
    ref = fit(state, loss_fn, (x, y), (x[:16], y[:16]), epochs=3, batch_size=16, progress=False, tensorboard=False, plot=False)
    for name, value in ref.state.params.items():
        np.testing.assert_allclose(np.asarray(got["params"][name]), np.asarray(value), atol=1e-5, rtol=0)
    np.testing.assert_allclose(got["history"]["val_loss"], ref.history["val_loss"], atol=1e-5, rtol=0)
    assert got["history"]["epoch"] == [1, 2, 3] and got["best_epoch"] == ref.best_epoch
    assert got["param_specs"]["w1"] == "P(None, 'data')"  # split over both processes' devices

    # one events file per fit call (the first and the resume) from process 0; two writers would leave 4
    assert len(glob.glob(str(run_dir / "tensorboard" / "events*"))) == 2
    assert json.loads((run_dir / "history.json").read_text())["epoch"] == [1, 2, 3]
    assert os.path.exists(run_dir / "curves.png") and os.listdir(run_dir / "checkpoints")
    assert got["global_rows"] == [64, 8] and abs(got["global_sum"] - got["expected_sum"]) < 1e-3
    assert got["mean_of_process_ids"] == 0.5
    assert jax.device_count() == 1  # this process was not touched by the workers' flags
