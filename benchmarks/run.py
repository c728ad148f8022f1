"""Run every benchmark in one process run and write results/latest.json and latest.md."""

from __future__ import annotations

import argparse
import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from benchmarks import (
    bench_delivery,
    bench_erasure,
    bench_event_loop,
    bench_export,
    bench_image_memory,
    bench_images,
    bench_synth,
    bench_worker,
)
from wearit_local.server import MotoServerProcess

RESULTS = Path(__file__).resolve().parent / "results"
SECTIONS = (
    "images",
    "image_memory",
    "event_loop",
    "erasure",
    "export",
    "worker",
    "delivery",
    "synth",
)


def versioned_bucket(endpoint: str, name: str) -> str:
    client = bench_erasure.raw_client(endpoint)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", choices=SECTIONS, action="append")
    args = parser.parse_args()
    selected = set(args.only or SECTIONS)
    RESULTS.mkdir(exist_ok=True)
    results: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "targets": {},
    }
    previous = RESULTS / "latest.json"
    if args.only and previous.exists():
        # A partial run replaces its own sections and keeps the others' last numbers.
        kept = json.loads(previous.read_text())
        for section in set(SECTIONS) - selected:
            if section in kept:
                results[section] = kept[section]
                results["targets"][section] = kept["targets"][section]
    if "images" in selected:
        workdir = RESULTS / "tmp"
        workdir.mkdir(exist_ok=True)
        results["images"] = bench_images.run(workdir)
        results["targets"]["images"] = bench_images.targets(results["images"])
    if "image_memory" in selected:
        workdir = RESULTS / "tmp"
        workdir.mkdir(exist_ok=True)
        results["image_memory"] = bench_image_memory.run(workdir)
        results["targets"]["image_memory"] = bench_image_memory.targets(results["image_memory"])
    if selected & {"event_loop", "erasure", "export", "worker"}:
        with MotoServerProcess() as server:  # its own process: no shared GIL with us
            endpoint = server.endpoint_url
            if "event_loop" in selected:
                bucket = versioned_bucket(endpoint, "bench-event-loop")
                results["event_loop"] = bench_event_loop.run(endpoint, bucket)
                results["targets"]["event_loop"] = bench_event_loop.targets(results["event_loop"])
            if "erasure" in selected:
                bucket = versioned_bucket(endpoint, "bench-erasure")
                results["erasure"] = bench_erasure.run(endpoint, bucket)
                results["targets"]["erasure"] = bench_erasure.targets(results["erasure"])
            if "export" in selected:
                bucket = versioned_bucket(endpoint, "bench-export")
                results["export"] = bench_export.run(endpoint, bucket)
                results["targets"]["export"] = bench_export.targets(results["export"])
            if "worker" in selected:
                results["worker"] = bench_worker.run(endpoint)
                results["targets"]["worker"] = bench_worker.targets(results["worker"])
    if "delivery" in selected:
        results["delivery"] = bench_delivery.run()
        results["targets"]["delivery"] = bench_delivery.targets(results["delivery"])
    if "synth" in selected:
        results["synth"] = bench_synth.run()
        results["targets"]["synth"] = [
            {
                "target": "report synth time vs a one-bucket app (no target)",
                "measured": (
                    f"{results['synth']['wearit_all_stacks_s']} s vs "
                    f"{results['synth']['minimal_one_bucket_s']} s "
                    f"({results['synth']['ratio']}x)"
                ),
                "met": True,
            }
        ]
    results["targets"] = {k: results["targets"][k] for k in SECTIONS if k in results["targets"]}
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    table = markdown(results)
    (RESULTS / "latest.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
