"""``benchmarks/results/soak.json`` (everything, samples included) and ``soak.md`` (the
short tables the README quotes)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write(results: dict[str, Any], directory: Path) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "soak.json").write_text(json.dumps(results, indent=2) + "\n")
    table = markdown(results)
    (directory / "soak.md").write_text(table)
    return table


def _count_rows(counts: dict[str, int]) -> list[str]:
    return [f"| {name} | {count} |" for name, count in sorted(counts.items())] or ["| none | 0 |"]


def markdown(results: dict[str, Any]) -> str:
    machine = results["machine"]
    load = results["load_average"]
    lines = [
        f"Soak run of {results['minutes']} min, {results['date']}, on {machine['cores']} "
        f"cores shared with other work (1-min load average {load['start']} at the start, "
        f"{load['max']} at most, {load['end']} at the end), Python {machine['python']}: "
        f"{'**passed**' if results['passed'] else '**FAILED**'}.",
        "",
        f"{results['workers']} `wearit-storage worker` process(es) at "
        f"`WEARIT_WORKER_CONCURRENCY={results['worker_concurrency']}`, one `wearit-storage "
        "eraser`, the application's SDK in the driver, all against `python -m wearit_local up`; "
        + f"glibc malloc: {_allocator(results['allocator']['workers_and_eraser'])} in the "
        f"workers and the eraser (the worker functions' setting), "
        f"{_allocator(results['allocator']['driver'])} in the driver"
        + f"; RSS after the warm-up: median of the samples in {results['memory']['warm_up_s']:.0f}-"
        f"{results['memory']['warm_up_s'] + results['memory']['window_s']:.0f} s, at the end: "
        f"in the last {results['memory']['window_s']:.0f} s of traffic.",
        "",
        "| check | measured | passed |",
        "| --- | --- | --- |",
    ]
    for check in results["checks"]:
        passed = "yes" if check["passed"] else f"**no** ({check['problem_count']})"
        lines.append(f"| {check['name']} | {check['measured']} | {passed} |")
    lines += [
        "",
        "| process | RSS after warm-up (MiB) | RSS at the end (MiB) | growth | peak (MiB) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, verdict in results["memory"]["growth"].items():
        growth = verdict["growth"]
        shown = f"{growth * 100:+.1f}%" if growth is not None else "n/a"
        lines.append(
            f"| {name} | {verdict['after_warm_up_mib']} | {verdict['end_mib']} | {shown} | "
            f"{verdict['peak_mib']} |"
        )
    uploads = results["uploads"]
    lines += [
        "",
        f"Direct uploads: {uploads['direct_posted']} POSTed, {uploads['direct_done']} done, "
        f"{uploads['direct_rejected']} rejected, POST to done seen by the poller: median "
        f"{uploads['post_to_done_median_s']} s, p95 {uploads['post_to_done_p95_s']} s. "
        f"Erasures: {len(results['erasures'])} requested mid-upload, request to `done`: "
        f"median {results['erasure_median_s']} s.",
        "",
        "| application action | count |",
        "| --- | --- |",
        *_count_rows(results["actions"]),
        "",
        f"S3 and SQS requests of the application's SDK: {sum(results['requests'].values())}; "
        "failures and refusals (by design) by type:",
        "",
        "| failure | count |",
        "| --- | --- |",
        *_count_rows(results["failures"]),
        "",
        "| refusal (by design) | count |",
        "| --- | --- |",
        *_count_rows(results["refusals"]),
        "",
        "Workers and eraser at exit: "
        + "; ".join(f"{name}: {child['summary']}" for name, child in results["children"].items()),
        "",
        "Their WARNING and ERROR log lines: "
        + (
            "; ".join(
                f"{name}: " + ", ".join(f"{kind} x{n}" for kind, n in sorted(problems.items()))
                for name, child in results["children"].items()
                if (problems := child["log_warnings_and_errors"])
            )
            or "none"
        ),
    ]
    return "\n".join(lines) + "\n"


def _allocator(settings: dict[str, str]) -> str:
    return ", ".join(f"`{k}={v}`" for k, v in settings.items()) or "its defaults"
