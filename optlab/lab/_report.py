"""``python -m optlab report``: measure every claim of the lecture and write the report.

For each entry of :data:`optlab.lab.claims.CLAIMS`: run ``measure(budget)``, compute the verdict
from the numbers with the claim's own ``verdict`` function, save its figure; then write
``claims.json`` (``{"budget", "claims": [{id, title, claim, numbers, rule, verdict, figure,
needs, seconds, cpu_seconds}]}``), ``report.md`` (figures as files under ``figures/``) and a self-contained
``report.html`` (figures embedded as base64 PNG). Nothing in the report is written by hand.
"""

from __future__ import annotations

import base64
import html
import json
import os
import platform
import time
from typing import Any, Callable, Iterable, Mapping, Sequence

import jax

from .claims import CLAIMS, NOT_MEASURED, Budget, Claim
from .claims._base import VERDICTS, jsonable


def measure_claim(claim: Claim, budget: Budget, figures_dir: str) -> dict[str, Any]:
    """One claims.json entry: measured numbers, computed verdict, saved figure (path relative to the
    report directory); a claim without ``measure`` is "not measured" with empty numbers."""
    entry = {"id": claim.id, "title": claim.title, "claim": claim.claim, "numbers": {}, "rule": claim.rule,
             "verdict": NOT_MEASURED, "figure": None, "needs": claim.needs, "seconds": 0.0, "cpu_seconds": 0.0}
    if claim.measure is None:
        return entry
    began, began_cpu = time.perf_counter(), time.process_time()
    measurement = claim.measure(budget)
    numbers = jsonable(measurement.numbers)
    verdict = claim.verdict(numbers)
    if verdict not in VERDICTS:
        raise ValueError(f"claim {claim.id}: verdict must be one of {VERDICTS}, got {verdict!r}")
    entry.update(numbers=numbers, verdict=verdict)
    if measurement.figure is not None:
        name = f"claim-{claim.id:02d}-{claim.title}.png"
        measurement.figure.savefig(os.path.join(figures_dir, name), dpi=72)
        entry["figure"] = f"figures/{name}"
    entry["seconds"] = round(time.perf_counter() - began, 2)
    entry["cpu_seconds"] = round(time.process_time() - began_cpu, 2)
    return entry


def select(claims: Sequence[Claim], only: Iterable[int] | None) -> list[Claim]:
    """The claims whose ids are in ``only`` (all when None); ValueError names unknown ids."""
    if only is None:
        return list(claims)
    wanted = set(only)
    unknown = sorted(wanted - {c.id for c in claims})
    if unknown:
        raise ValueError(f"--only: no claim with id {unknown}; ids are {[c.id for c in claims]}")
    return [c for c in claims if c.id in wanted]


def run_report(out_dir: str, *, quick: bool = False, only: Iterable[int] | None = None,
               claims: Sequence[Claim] = CLAIMS, progress: Callable[[str], None] | None = print) -> dict[str, str]:
    """Measure ``claims`` (or the ids in ``only``) and write the report under ``out_dir``.

    Returns the paths written: ``{"claims_json", "report_md", "report_html", "figures"}``.
    """
    chosen = select(claims, only)
    figures_dir = os.path.join(out_dir, "figures")
    os.makedirs(figures_dir, exist_ok=True)
    budget = Budget(quick=quick)
    began, began_cpu = time.perf_counter(), time.process_time()
    entries = []
    for i, claim in enumerate(chosen, 1):
        entry = measure_claim(claim, budget, figures_dir)
        entries.append(entry)
        if progress:
            progress(f"[{i}/{len(chosen)}] claim {claim.id} {claim.title}: {entry['verdict']} "
                     f"({entry['seconds']:.1f} s, CPU {entry['cpu_seconds']:.1f} s)")
    meta = {"budget": "quick" if quick else "full", "seconds": round(time.perf_counter() - began, 1),
            "cpu_seconds": round(time.process_time() - began_cpu, 1),
            "jax": jax.__version__, "backend": jax.default_backend(), "machine": platform.machine(),
            "cpus": os.cpu_count()}
    paths = {"claims_json": os.path.join(out_dir, "claims.json"), "report_md": os.path.join(out_dir, "report.md"),
             "report_html": os.path.join(out_dir, "report.html"), "figures": figures_dir}
    with open(paths["claims_json"], "w") as f:
        json.dump({**meta, "claims": entries}, f, indent=1, allow_nan=False)
    with open(paths["report_md"], "w") as f:
        f.write(to_markdown(entries, meta))
    with open(paths["report_html"], "w") as f:
        f.write(to_html(entries, meta, out_dir))
    return paths


def fmt(value: Any) -> str:
    """A number for the report: 4 significant digits; lists element by element; None as "never"."""
    if value is None:
        return "never"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return "[" + ", ".join(fmt(v) for v in value) + "]"
    return str(value)


def summary_counts(entries: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """How many claims got each verdict (all four statuses, zeros included)."""
    return {v: sum(e["verdict"] == v for e in entries) for v in (*VERDICTS, NOT_MEASURED)}


def _header(meta: Mapping[str, Any], entries) -> str:
    counts = ", ".join(f"{n} {v}" for v, n in summary_counts(entries).items())
    return (f"Budget: {meta['budget']}; {len(entries)} claims: {counts}. Measured in {meta['seconds']} s "
            f"(CPU {meta['cpu_seconds']} s) "
            f"on {meta['backend']} ({meta['machine']}, {meta['cpus']} CPUs), jax {meta['jax']}. "
            "Every number below was computed by this run; every verdict by the claim's rule, in code.")


def to_markdown(entries: Sequence[Mapping[str, Any]], meta: Mapping[str, Any]) -> str:
    """report.md: a summary table, then one section per claim (claim, rule, numbers, figure)."""
    lines = ["# optlab report: the lecture's claims, measured", "", _header(meta, entries), "",
             "| # | claim | verdict |", "| --- | --- | --- |"]
    lines += [f"| {e['id']} | {e['claim']} | **{e['verdict']}** |" for e in entries]
    for e in entries:
        lines += ["", f"## {e['id']}. {e['title']}: {e['verdict']}", "", f"> {e['claim']}", ""]
        if e["verdict"] == NOT_MEASURED:
            lines += [f"Not measured: needs `{e['needs']}`, which does not exist yet."]
            continue
        lines += [f"**Rule.** {e['rule']}", "", "| number | value |", "| --- | --- |"]
        lines += [f"| {k} | {fmt(v)} |" for k, v in e["numbers"].items()]
        if e["figure"]:
            lines += ["", f"![claim {e['id']}]({e['figure']})"]
    return "\n".join(lines) + "\n"


def to_html(entries: Sequence[Mapping[str, Any]], meta: Mapping[str, Any], out_dir: str) -> str:
    """report.html: the same content as report.md, self-contained (figures embedded as base64)."""
    esc = html.escape
    colors = {"held": "#1a7f37", "did not hold": "#cf222e", "inconclusive": "#9a6700", NOT_MEASURED: "#6e7781"}
    badge = lambda v: f'<b style="color:{colors[v]}">{esc(v)}</b>'  # noqa: E731
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>optlab report</title><style>",
             "body{font-family:sans-serif;max-width:60em;margin:auto;padding:1em}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}img{max-width:100%}"
             "blockquote{color:#444;border-left:3px solid #ccc;margin-left:0;padding-left:1em}",
             "</style></head><body><h1>optlab report: the lecture's claims, measured</h1>",
             f"<p>{esc(_header(meta, entries))}</p><table><tr><th>#</th><th>claim</th><th>verdict</th></tr>"]
    parts += [f"<tr><td>{e['id']}</td><td>{esc(e['claim'])}</td><td>{badge(e['verdict'])}</td></tr>" for e in entries]
    parts.append("</table>")
    for e in entries:
        parts.append(f"<h2>{e['id']}. {esc(e['title'])}: {badge(e['verdict'])}</h2><blockquote>{esc(e['claim'])}</blockquote>")
        if e["verdict"] == NOT_MEASURED:
            parts.append(f"<p>Not measured: needs <code>{esc(e['needs'])}</code>, which does not exist yet.</p>")
            continue
        parts.append(f"<p><b>Rule.</b> {esc(e['rule'])}</p><table><tr><th>number</th><th>value</th></tr>")
        parts += [f"<tr><td>{esc(k)}</td><td>{esc(fmt(v))}</td></tr>" for k, v in e["numbers"].items()]
        parts.append("</table>")
        if e["figure"]:
            with open(os.path.join(out_dir, e["figure"]), "rb") as f:
                data = base64.b64encode(f.read()).decode("ascii")
            parts.append(f"<p><img alt='claim {e['id']}' src='data:image/png;base64,{data}'></p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
