"""Run the benchmarks side by side in one run and write results/latest.json and latest.md.

Before each section it prints how long the section should take (the last run's time,
recorded in latest.json; a first estimate for a section never timed) and how long the
whole run has left. --only SECTION (repeatable) runs just those sections; the others keep
their last numbers in the results.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from benchmarks.progress import BenchProgress
from wearit_local.server import MotoServerProcess

RESULTS = Path(__file__).resolve().parent / "results"
SECTIONS = (
    "images",
    "image_memory",
    "event_loop",
    "erasure",
    "export",
    "worker",
    "lambda",
    "delivery",
    "synth",
)


def versioned_bucket(endpoint: str, name: str) -> str:
    from benchmarks.bench_erasure import raw_client

    client = raw_client(endpoint)
    client.create_bucket(Bucket=name)
    client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "boto3": boto3.__version__,
    }


def markdown(results: dict[str, Any]) -> str:
    lines = [
        f"Measured {results['date']} on {results['machine']['cores']} cores "
        f"({results['machine']['platform']}), Python {results['machine']['python']}.",
        "",
        "| benchmark | target | measured | met |",
        "| --- | --- | --- | --- |",
    ]
    for section, section_targets in results["targets"].items():
        for target in section_targets:
            met = "yes" if target["met"] else "**no**"
            lines.append(f"| {section} | {target['target']} | {target['measured']} | {met} |")
    images = results.get("images")
    if images:
        lines += [
            "",
            "| input | contender | median ms | images/s | SSIM (800 px) | main bytes |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for name, data in images["inputs"].items():
            for contender, timing in data["timing"].items():
                quality = data["quality"][contender]
                lines.append(
                    f"| {name} | {contender} | {timing['median_ms']} | "
                    f"{data['images_per_s'][contender]} | {quality['ssim_main']} | "
                    f"{quality['main_bytes']} |"
                )
        for name, data in images["inputs"].items():
            for contender, reason in data.get("unable", {}).items():
                lines.append(f"| {name} | {contender} | n/a: {reason} | | | |")
        lines += [
            "",
            "Two worker threads, 12 MP JPEG, images/s: "
            + ", ".join(f"{k} {v}" for k, v in images["threads2_images_per_s"].items()),
            "Peak memory growth, 12 MP JPEG, MiB: "
            + ", ".join(f"{k} {v}" for k, v in images["peak_memory_mib"].items()),
        ]
    return "\n".join(lines) + "\n"


def last_durations_s() -> dict[str, float]:
    """Each section's duration in the last run that ran it (empty before any)."""
    previous = RESULTS / "latest.json"
    if not previous.exists():
        return {}
    durations: dict[str, float] = json.loads(previous.read_text()).get("durations_s", {})
    return durations


def run_section(
    section: str, moto: Callable[[], str]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One section's results and targets. Each module is imported here, not at start-up:
    ``--help`` and the plan need none of the benchmark-only packages (pyvips, numpy)."""
    workdir = RESULTS / "tmp"
    workdir.mkdir(exist_ok=True)
    if section == "images":
        from benchmarks import bench_images

        data = bench_images.run(workdir)
        return data, bench_images.targets(data)
    if section == "image_memory":
        from benchmarks import bench_image_memory

        data = bench_image_memory.run(workdir)
        return data, bench_image_memory.targets(data)
    if section == "event_loop":
        from benchmarks import bench_event_loop

        data = bench_event_loop.run(moto(), versioned_bucket(moto(), "bench-event-loop"))
        return data, bench_event_loop.targets(data)
    if section == "erasure":
        from benchmarks import bench_erasure

        data = bench_erasure.run(moto(), versioned_bucket(moto(), "bench-erasure"))
        return data, bench_erasure.targets(data)
    if section == "export":
        from benchmarks import bench_export

        data = bench_export.run(moto(), versioned_bucket(moto(), "bench-export"))
        return data, bench_export.targets(data)
    if section == "worker":
        from benchmarks import bench_worker

        data = bench_worker.run(moto())
        return data, bench_worker.targets(data)
    if section == "lambda":
        from benchmarks import bench_lambda

        data = bench_lambda.run(workdir)
        return data, bench_lambda.targets(data)
    if section == "delivery":
        from benchmarks import bench_delivery

        data = bench_delivery.run()
        return data, bench_delivery.targets(data)
    from benchmarks import bench_synth

    data = bench_synth.run()
    measured = (
        f"{data['wearit_all_stacks_s']} s vs {data['minimal_one_bucket_s']} s ({data['ratio']}x)"
    )
    return data, [
        {
            "target": "report synth time vs a one-bucket app (no target)",
            "measured": measured,
            "met": True,
        }
    ]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description=__doc__,
        epilog=BenchProgress(SECTIONS, last_durations_s(), sys.stderr).estimates_text(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--only",
        choices=SECTIONS,
        action="append",
        metavar="SECTION",
        help=f"run only this section (repeat for several): {', '.join(SECTIONS)}",
    )
    args = parser.parse_args(argv)
    selected = [section for section in SECTIONS if section in set(args.only or SECTIONS)]
    RESULTS.mkdir(exist_ok=True)
    results: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "targets": {},
        "durations_s": {},
    }
    previous = RESULTS / "latest.json"
    kept: dict[str, Any] = json.loads(previous.read_text()) if previous.exists() else {}
    if args.only:
        # A partial run replaces its own sections and keeps the others' last numbers.
        for section in set(SECTIONS) - set(selected):
            if section in kept:
                results[section] = kept[section]
                results["targets"][section] = kept["targets"][section]
            if section in kept.get("durations_s", {}):
                results["durations_s"][section] = kept["durations_s"][section]
    progress = BenchProgress(selected, last_durations_s(), sys.stderr)
    progress.plan()
    with contextlib.ExitStack() as stack:
        server: list[MotoServerProcess] = []

        def moto() -> str:
            # Its own process, started when the first section needs it: no shared GIL.
            if not server:
                server.append(stack.enter_context(MotoServerProcess()))
            return server[0].endpoint_url

        for section in selected:
            progress.start(section)
            results[section], results["targets"][section] = run_section(section, moto)
            progress.done(section)
            results["durations_s"][section] = progress.durations_s[section]
    results["targets"] = {k: results["targets"][k] for k in SECTIONS if k in results["targets"]}
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    table = markdown(results)
    (RESULTS / "latest.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
