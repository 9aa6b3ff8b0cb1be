"""fit on several processes (hosts) with jax.distributed: the digits MLP, fsdp over every device.

Each process runs this same script with its own --process-id; on CPU each gets --devices simulated
devices. On two machines (10.0.0.1 the coordinator), with run_dir on a disk both can see:

    python examples/multihost_fit.py /shared/run --coordinator 10.0.0.1:12355 --num-processes 2 --process-id 0
    python examples/multihost_fit.py /shared/run --coordinator 10.0.0.1:12355 --num-processes 2 --process-id 1

On one machine, --local 2 starts both processes itself (coordinator 127.0.0.1, a free port):

    python examples/multihost_fit.py /tmp/run --local 2
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys


def launch_local(args: argparse.Namespace) -> int:
    """Start ``args.local`` copies of this script on this machine and wait for all of them."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    procs = [
        subprocess.Popen([sys.executable, __file__, args.run_dir, "--coordinator", f"127.0.0.1:{port}",
                          "--num-processes", str(args.local), "--process-id", str(i), "--devices", str(args.devices)])
        for i in range(args.local)
    ]
    try:
        codes = [p.wait(timeout=600) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    return max(codes)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir")
    parser.add_argument("--coordinator", default=None, help="host:port of process 0")
    parser.add_argument("--num-processes", type=int, default=1)
    parser.add_argument("--process-id", type=int, default=0)
    parser.add_argument("--devices", type=int, default=4, help="simulated CPU devices per process (CPU only)")
    parser.add_argument("--local", type=int, default=0, help="start this many processes on this machine")
    args = parser.parse_args()
    if args.local:
        return launch_local(args)
    os.environ.setdefault("XLA_FLAGS", f"--xla_force_host_platform_device_count={args.devices}")

    import jax

    if args.coordinator:  # before anything else touches JAX's devices
        jax.distributed.initialize(args.coordinator, num_processes=args.num_processes, process_id=args.process_id)

    import flax.linen as nn
    import optlab
    from optlab.data import load_digits
    from optlab.distributed import Strategy, is_writer
    from optlab.train import TrainState, accuracy, classifier_loss, fit

    class MLP(nn.Module):
        @nn.compact
        def __call__(self, x, train=False):
            return nn.Dense(10)(nn.relu(nn.Dense(64)(x.reshape((x.shape[0], -1)))))

    digits = load_digits(seed=0)  # every process loads the same arrays
    model = MLP()
    params = model.init(jax.random.key(0), digits.train.x[:1])["params"]  # same seed: same state everywhere
    state = TrainState.create(apply_fn=model.apply, params=params, tx=optlab.adam(3e-3), ema_decay=0.9)
    mesh = jax.make_mesh((jax.device_count(),), ("data",))
    result = fit(
        state, classifier_loss(model.apply), (digits.train.x, digits.train.y), (digits.val.x, digits.val.y),
        epochs=3, batch_size=64, metrics={"accuracy": accuracy}, mesh=mesh,
        strategy=Strategy("fsdp", min_shard_bytes=0), run_dir=args.run_dir,
    )
    if is_writer():
        print(f"{jax.process_count()} processes x {jax.local_device_count()} devices: "
              f"val accuracy {result.history['val_accuracy'][-1]:.3f}, kernel sharded as "
              f"{result.state.params['Dense_0']['kernel'].sharding.spec}; files in {result.paths['run_dir']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
