"""Make JAX strict for the whole suite (after optimistix/equinox): no implicit rank promotion."""

import os

import jax

jax.config.update("jax_numpy_rank_promotion", "raise")
# Cache compiled programs across test processes/runs (CI runs the suite once; local reruns are faster).
jax.config.update(
    "jax_compilation_cache_dir", os.path.join(os.path.dirname(__file__), "..", ".jax_cache")
)
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
