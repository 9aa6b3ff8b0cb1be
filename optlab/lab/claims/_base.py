"""What a claim is: the lecture's statement, a decision rule in words, a measurement and a verdict.

A :class:`Claim` pairs ``measure(budget) -> Measurement`` (numbers and a figure, computed by code
with fixed seeds) with ``verdict(numbers) -> str``, a small pure function of those numbers that
returns one of :data:`HELD`, :data:`DID_NOT_HOLD` or :data:`INCONCLUSIVE`. A claim whose parts do
not exist yet is :func:`not_measured`: the report lists it with :data:`NOT_MEASURED`, never a
made-up verdict.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping, NamedTuple

import numpy as np
from matplotlib.figure import Figure

HELD = "held"
DID_NOT_HOLD = "did not hold"
INCONCLUSIVE = "inconclusive"
NOT_MEASURED = "not measured"
VERDICTS = (HELD, DID_NOT_HOLD, INCONCLUSIVE)


class Budget(NamedTuple):
    """How much work a measurement may do: ``quick`` (the test suite's smoke run) or full."""

    quick: bool = False

    def pick(self, quick: Any, full: Any) -> Any:
        """``quick`` under a quick budget, else ``full`` (same code path, smaller numbers)."""
        return quick if self.quick else full


class Measurement(NamedTuple):
    """What ``measure`` returns: JSON-able ``numbers`` and an optional figure to save."""

    numbers: dict[str, Any]
    figure: Figure | None = None


class Claim(NamedTuple):
    """One claim of the lecture.

    Attributes:
      id: its number in the report.
      title: a short name (used in file names).
      claim: the lecture's statement.
      rule: the decision rule, in words.
      measure: ``measure(budget) -> Measurement``; None when the parts do not exist yet.
      verdict: ``verdict(numbers) -> "held" | "did not hold" | "inconclusive"``, pure.
      needs: for a claim not measured yet, what it waits for.
    """

    id: int
    title: str
    claim: str
    rule: str
    measure: Callable[[Budget], Measurement] | None = None
    verdict: Callable[[Mapping[str, Any]], str] | None = None
    needs: str = ""


def finish(fig: Figure, *axes: Any) -> Figure:
    """The claims' common figure ending: a light grid and a small legend on each axis, tight layout."""
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def not_measured(id: int, title: str, claim: str, needs: str) -> Claim:
    """A claim listed in the report as "not measured" until ``needs`` lands (see ``claims/__init__``)."""
    return Claim(id, title, claim, rule="", needs=needs)


def both(first: str, second: str) -> str:
    """Combine two sub-verdicts: held if both held, did not hold if neither, else inconclusive."""
    if first == HELD and second == HELD:
        return HELD
    if first == DID_NOT_HOLD and second == DID_NOT_HOLD:
        return DID_NOT_HOLD
    return INCONCLUSIVE


def jsonable(value: Any) -> Any:
    """NumPy scalars/arrays to Python numbers/lists; non-finite floats to the strings "inf", "-inf",
    "nan" (claims.json stays strict JSON)."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [jsonable(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else str(value)
    return value


def as_float(value: Any) -> float:
    """A number from ``numbers`` back to float (undoes :func:`jsonable`'s "inf"/"nan"; None -> nan)."""
    return math.nan if value is None else float(value)
