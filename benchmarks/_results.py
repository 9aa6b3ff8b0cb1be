"""Where benchmark results go: ``benchmarks/results/<name>.json`` (git-ignored)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def write_result(name: str, payload: Any) -> Path:
    """Write ``payload`` as indented JSON to ``results/<name>.json``; the path, relative to the repo."""
    path = RESULTS / f"{name}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(payload, indent=1))
    return path.relative_to(RESULTS.parent.parent)
