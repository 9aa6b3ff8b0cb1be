#!/usr/bin/env bash
# optlab's speed suite on one CUDA GPU, plus PyTorch's fused/foreach Adam as the reference.
# Usage, from the repository root:  bash benchmarks/gpu.sh      (about 3-4 minutes)
# Uses the jax/torch already installed when they see a GPU; otherwise installs jax[cuda12] (same
# jax version as installed, else the newest) and torch from PyPI. Writes benchmarks/results/gpu.json
# and benchmarks/results/torch_adam.json. Self-checking: prints device and versions, and stops if
# JAX does not run on the GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}  # on the lent GPU machines, python3 is the interpreter that holds jax[cuda] and torch
export XLA_PYTHON_CLIENT_PREALLOCATE=false  # share the GPU between JAX and torch in one process

echo "== device"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || { echo "no nvidia-smi: not a CUDA machine"; exit 1; }

echo "== jax"
if ! $PY -c "import jax, sys; sys.exit(jax.default_backend() != 'gpu')" 2>/dev/null; then
  JAX_VERSION=$($PY -c "import jax; print(jax.__version__)" 2>/dev/null || true)
  $PY -m pip install -q "jax[cuda12]${JAX_VERSION:+==$JAX_VERSION}"
fi
$PY -m pip show optax flax >/dev/null 2>&1 || $PY -m pip install -q -e .
$PY - <<'PYEOF'
import jax, jaxlib, optax, flax, platform
print(f"python {platform.python_version()}, jax {jax.__version__}, jaxlib {jaxlib.__version__}, "
      f"optax {optax.__version__}, flax {flax.__version__}")
print("devices:", jax.devices())
assert jax.default_backend() == "gpu", f"JAX runs on {jax.default_backend()}, not the GPU"
PYEOF

echo "== torch"
$PY -c "import torch" 2>/dev/null || $PY -m pip install -q torch || echo "torch could not be installed: torch rows will be skipped"
$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available())" || true

echo "== suite (allocator tuning is a CPU matter: default only)"
time $PY -m benchmarks --allocator default --rules sgd,adam --bf16-rules adam --train-rules adam \
  --leaves 1,200,3000 --size 10500000 --repeats 30 --no-tree --fit-epochs 3 --fit-repeats 2 --name gpu

echo "== PyTorch fused/foreach Adam vs optax vs optlab, 3000 leaves x 3500 params"
time $PY -m benchmarks.torch_adam --leaves 3000 --leaf-size 3500 --repeats 50

echo "== scaling: fit's step on 1, 2, 4, 8 GPUs (as many as this machine has), dp and fsdp"
GPU_COUNTS=$($PY -c "import jax; n = jax.device_count(); print(','.join(str(c) for c in (1, 2, 4, 8) if c <= n))")
mkdir -p benchmarks/results
time $PY -m benchmarks.scaling --devices "$GPU_COUNTS" --steps 50 --repeats 5 --json benchmarks/results/scaling_gpu.json
