"""``python -m optlab report``: every claim of the lecture, measured, with a picture and a verdict."""

from __future__ import annotations

import argparse
import os
import time



def parse_ids(text: str | None) -> list[int] | None:
    """``"1,3" -> [1, 3]``; None stays None; ValueError names a bad item."""
    if text is None:
        return None
    try:
        return [int(item) for item in text.split(",") if item.strip()]
    except ValueError:
        raise ValueError(f"--only must be comma-separated claim ids, got {text!r}") from None


def add_commands(subparsers) -> None:
    parser = subparsers.add_parser(
        "report", help="measure every claim of the lecture: report.md, report.html, claims.json",
        description="Measure each claim of the lecture with fixed seeds, compute its verdict (held, did "
        "not hold, inconclusive; not measured where its parts do not exist yet) and write report.md, "
        "a self-contained report.html and claims.json. The full report takes a few minutes on 2 CPU "
        "cores; --quick is a smaller smoke run of the same code.",
    )
    parser.add_argument("--quick", action="store_true", help="smaller budgets (about a minute)")
    parser.add_argument("--out", default=None, help="output directory (default runs/report-<timestamp>)")
    parser.add_argument("--only", default=None, metavar="IDS", help="comma-separated claim ids (default: all)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ._report import run_report  # the claims import flax, sklearn, matplotlib: only when running

    only = parse_ids(args.only)
    out = args.out or os.path.join("runs", time.strftime("report-%Y%m%d-%H%M%S"))
    print(f"writing the report to {out}{' (quick)' if args.quick else ''}")
    paths = run_report(out, quick=args.quick, only=only)
    print(f"wrote {paths['report_md']}, {paths['report_html']} (open it in a browser) and {paths['claims_json']}")
    return 0
