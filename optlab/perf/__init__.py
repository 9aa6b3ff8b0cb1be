"""Speed: parameters in a few flat buffers, donated jitted steps, allocator tuning.

* :func:`layout_of`, :class:`Layout`, :class:`Slot` — static packing of a tree into 1-D buffers:
  large leaves alone, small ones in buckets of one dtype.
* :func:`flatten`, :func:`unflatten`, :func:`runtime_offsets` — tree <-> buffers; ``unflatten``
  has a custom VJP whose backward writes the leaf gradients into the buffers, so ``jax.grad``
  w.r.t. the buffers is cheap; runtime offsets keep the compile time flat in the leaf count.
* :func:`check_elementwise` — refuses transformations that are not valid on flat buffers.
* :func:`train_step` — a jitted step with the state donated.
* :func:`tune_allocator`, :func:`allocator_env` — opt-in glibc malloc settings for XLA:CPU.

``optlab.train.FlatTrainState`` puts these together. Why and how fast: ``benchmarks/README.md``.
"""

from ._allocator import allocator_env as allocator_env
from ._allocator import tune_allocator as tune_allocator
from ._elementwise import check_elementwise as check_elementwise
from ._layout import Layout as Layout
from ._layout import Slot as Slot
from ._layout import layout_of as layout_of
from ._step import train_step as train_step
from ._unflatten import flatten as flatten
from ._unflatten import runtime_offsets as runtime_offsets
from ._unflatten import unflatten as unflatten

__all__ = [
    "Layout",
    "Slot",
    "allocator_env",
    "check_elementwise",
    "flatten",
    "layout_of",
    "runtime_offsets",
    "train_step",
    "tune_allocator",
    "unflatten",
]
