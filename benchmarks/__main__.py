"""``python -m benchmarks [--quick] [--rules ...] [--leaves ...] [--size N] [--allocator ...]``."""

from .run import main

main()
