"""Worker: one of 2 processes x 4 CPU devices joined by ``jax.distributed`` on localhost.

``python _two_processes.py <process_id> <port> <run_dir> <out.json>``: a 2-epoch fsdp ``fit`` with
checkpoints on an 8-device mesh spanning both processes, then ``resume=True`` to 3 epochs; the
per-process data helpers. Process 0 writes the results to ``out.json``.
"""

from __future__ import annotations

import json
import logging
import sys

import jax

process_id, port, run_dir, out_path = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
jax.distributed.initialize(f"127.0.0.1:{port}", num_processes=2, process_id=process_id)

import numpy as np  # noqa: E402
from jax.sharding import AxisType, NamedSharding, PartitionSpec as P  # noqa: E402

import optlab  # noqa: E402
from _common import data, loss_fn, params  # noqa: E402
from optlab.distributed import Strategy, global_batch, global_mean, is_writer  # noqa: E402
from optlab.train import TrainState, fit  # noqa: E402

logging.getLogger("absl").setLevel(logging.ERROR)
jax.config.update("jax_numpy_rank_promotion", "raise")
assert jax.process_count() == 2 and jax.device_count() == 8 and jax.local_device_count() == 4
X, Y = data()
mesh = jax.make_mesh((8,), ("data",), axis_types=(AxisType.Explicit,))
state = TrainState.create(apply_fn=None, params=params(), tx=optlab.adam(0.01), ema_decay=0.9)
kw = dict(batch_size=16, mesh=mesh, strategy=Strategy("fsdp", min_shard_bytes=0), run_dir=run_dir, plot=True)
fit(state, loss_fn, (X, Y), (X[:16], Y[:16]), epochs=2, **kw)
result = fit(state, loss_fn, (X, Y), (X[:16], Y[:16]), epochs=3, resume=True, **kw)

# per-process rows -> one global batch; a host value averaged over processes
rows = global_batch({"x": X[process_id * 32 : (process_id + 1) * 32]}, mesh)["x"]
total = jax.jit(lambda a: a.sum(), out_shardings=NamedSharding(mesh, P()))(rows)
gathered = jax.jit(lambda t: t, out_shardings=NamedSharding(mesh, P()))(result.state.params)  # every process calls it
mean_of_ids = global_mean(process_id)
if is_writer():
    with open(out_path, "w") as f:
        json.dump({
            "params": {k: np.asarray(v).tolist() for k, v in gathered.items()},
            "history": result.history, "best_epoch": result.best_epoch, "paths": result.paths,
            "param_specs": {k: str(v.sharding.spec) for k, v in result.state.params.items()},
            "global_rows": list(rows.shape), "global_sum": float(total), "expected_sum": float(X.sum()),
            "mean_of_process_ids": mean_of_ids,
        }, f)
print(f"process {process_id} done", flush=True)
