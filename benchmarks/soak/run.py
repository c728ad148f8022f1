"""``python -m benchmarks.soak [--minutes N]`` (``make soak MINUTES=N``): start ``local up``,
the workers and the eraser, drive mixed traffic for the duration, drain, check, report.

It prints a progress line every minute (every 15 s in runs under ten minutes) and exits 1,
naming every check that failed, if any did.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from benchmarks.run import RESULTS, machine
from benchmarks.soak import checks, report
from benchmarks.soak.ledger import Ledger
from benchmarks.soak.local_env import LocalUp, SdkProcess, start_local_up, start_sdk_process
from benchmarks.soak.memory import MemoryLog
from benchmarks.soak.photos import SYNC_CATEGORIES, expected_renditions, photos
from benchmarks.soak.traffic import Pace, Traffic
from wearit_local.clients import LocalCredentials, emulator_client
from wearit_local.demo import replicate_user
from wearit_storage import StorageRepository, StorageSettings
from wearit_storage.imaging.budget import ALLOCATOR_ENVIRONMENT

DEFAULT_MINUTES: Final = 30.0
WORKER_CONCURRENCY: Final = 2  # the deployed function's, and what `make bench` measures
#: How long the workers get, after the traffic, to settle what was POSTed: past one
#: visibility timeout of the upload queue (6 min), so an upload retried once still counts.
DRAIN_S: Final = 400.0
SAMPLE_EVERY_S: Final = 5.0
SDK_PROCESSES: Final = ("driver", "eraser")


def say(line: str) -> None:
    print(f"soak {line}", file=sys.stderr, flush=True)


def _clock(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}:{rest:02d}"


def _load() -> float:
    return round(os.getloadavg()[0], 2)


class Soak:
    def __init__(self, minutes: float, workers: int, cdk_out: Path, results: Path) -> None:
        self.duration_s = minutes * 60
        self.minutes = minutes
        self.worker_count = workers
        self.cdk_out = cdk_out
        self.results = results
        self.logs = results / "tmp" / "soak"
        self.ledger = Ledger()
        worker_names = tuple(f"worker-{n}" for n in range(1, workers + 1))
        self.memory = MemoryLog(sdk=SDK_PROCESSES + worker_names)
        self.loads: list[float] = [_load()]
        self.warm_up_s = max(30.0, 0.15 * self.duration_s)
        self.window_s = max(15.0, min(60.0, self.duration_s / 10))
        self.progress_every_s = 60.0 if self.duration_s >= 600 else 15.0

    # -- processes -----------------------------------------------------------------------

    def pids(self, local: LocalUp, children: Sequence[SdkProcess]) -> dict[str, int]:
        pids = {"driver": os.getpid(), "local-up": local.process.pid}
        moto = local.moto_pid
        if moto is not None:
            pids["moto"] = moto
        pids |= {child.name: child.pid for child in children if child.alive()}
        return pids

    def run(self) -> dict[str, Any]:
        self.logs.mkdir(parents=True, exist_ok=True)
        say(
            f"{_clock(self.duration_s)} of mixed traffic against `local up`, "
            f"{self.worker_count} worker(s) at concurrency {WORKER_CONCURRENCY}, one eraser; "
            f"child logs in {self.logs}"
        )
        local = start_local_up(self.cdk_out, self.logs)
        children: list[SdkProcess] = []
        try:
            exports = local.exports
            say(f"local up on {exports['AWS_ENDPOINT_URL']} (moto pid {local.moto_pid})")
            # As deployed: the worker functions' allocator settings and concurrency.
            workers = {
                **exports,
                **ALLOCATOR_ENVIRONMENT,
                "WEARIT_WORKER_CONCURRENCY": str(WORKER_CONCURRENCY),
            }
            children += [
                start_sdk_process(f"worker-{n}", ["worker"], workers, self.logs)
                for n in range(1, self.worker_count + 1)
            ]
            eraser = {**exports, **ALLOCATOR_ENVIRONMENT}
            children.append(start_sdk_process("eraser", ["eraser"], eraser, self.logs))
            results = asyncio.run(self._drive(local, children))
        finally:
            for child in children:
                child.stop()
            stopped = local.stop()
        # After the checks: how the environment stopped, a check of its own, so the run's
        # results are written whatever the teardown did.
        teardown = checks.CheckResult("local up stopped on Ctrl-C", stopped or "exited 0")
        if stopped is not None:
            teardown.add(stopped)
        results["checks"].append(teardown.as_dict())
        results["passed"] = results["passed"] and teardown.passed
        return results

    # -- the run -------------------------------------------------------------------------

    async def _drive(self, local: LocalUp, children: list[SdkProcess]) -> dict[str, Any]:
        exports = local.exports
        settings = StorageSettings.from_env(exports)
        credentials = LocalCredentials(
            exports["AWS_ACCESS_KEY_ID"], exports["AWS_SECRET_ACCESS_KEY"]
        )
        endpoint = exports["AWS_ENDPOINT_URL"]
        data = emulator_client("s3", endpoint, settings.region, credentials=credentials)
        replica_settings = settings.replica()
        replica = emulator_client("s3", endpoint, replica_settings.region, credentials=credentials)
        repo = await StorageRepository.from_settings(settings)
        try:
            sync = repo.sync_repository
            for client in filter(None, (sync.s3_client, sync.replica_client)):
                client.boto_client.meta.events.register("before-call", self._count_request)
            inputs = photos()
            expected = await asyncio.to_thread(expected_renditions, sync, inputs)
            say(f"{len(inputs)} photos rendered as references; traffic starts")

            def replicate(user: str) -> int:
                return replicate_user(
                    data, settings.bucket_name, replica, replica_settings.bucket_name, user
                )

            self.ledger = ledger = Ledger()
            traffic = Traffic(
                repo, ledger, inputs, expected, replicate, duration_s=self.duration_s, pace=Pace()
            )
            monitor = asyncio.create_task(self._monitor(local, children))
            await traffic.run()
            end_s = ledger.now()
            say(f"{_clock(end_s)} traffic over; draining the workers (at most {DRAIN_S:.0f} s)")
            await traffic.drain(DRAIN_S)
            monitor.cancel()
            alive = {child.name: child.alive() for child in children}
            states = {}
            for user in ledger.erasures:
                states[user] = (await repo.erasure_status(user)).state
            depths = await asyncio.to_thread(
                self._queue_depths, exports, settings.region, credentials
            )
        finally:
            await repo.close()
        stopped = {}
        for child in children:
            code, summary = child.stop()
            stopped[child.name] = {
                "exit": code,
                "summary": summary,
                "alive_at_end": alive[child.name],
                "log_warnings_and_errors": dict(child.problems()),
            }
        moto_mib = self.memory.window_median("moto", end_s - self.window_s, end_s)
        results = self._results(end_s, stopped, depths, moto_mib)
        views = (
            checks.BotoBucket(data, settings.bucket_name),
            checks.BotoBucket(replica, replica_settings.bucket_name),
        )
        found = [
            checks.check_acknowledged(ledger, views[0]),
            checks.check_settled(ledger),
            checks.check_erased(ledger, views[0], views[1], states),
            checks.check_temp(views[0]),
            checks.check_no_failures(ledger),
            checks.check_flat(results["memory"]["growth"]),
            checks.check_queues_empty({q: d for q, d in depths.items() if q.endswith("-dlq")}),
            _check_children(stopped),
        ]
        results["checks"] = [check.as_dict() for check in found]
        results["passed"] = not checks.failed(found)
        return results

    def _count_request(self, model: Any, **_: Any) -> None:
        self.ledger.count_request(str(model.name))

    async def _monitor(self, local: LocalUp, children: list[SdkProcess]) -> None:
        last_progress = 0.0
        for _ in range(int((self.duration_s + DRAIN_S) / SAMPLE_EVERY_S) + 10):
            now = self.ledger.now()
            sample = self.memory.sample(now, self.pids(local, children))
            self.loads.append(_load())
            if now - last_progress >= self.progress_every_s:
                last_progress = now
                say(self._progress(now, sample.rss_mib))
            for child in children:
                if not child.alive():
                    say(f"{child.name} exited ({child.process.returncode}): see {child.log_path}")
            await asyncio.sleep(SAMPLE_EVERY_S)

    def _progress(self, now: float, rss: Mapping[str, float]) -> str:
        ledger = self.ledger
        uploads = ledger.uploads.values()
        done = sum(u.state == "done" for u in uploads)
        pending = sum(u.state == "pending" for u in uploads)
        sync = sum(ledger.actions[f"upload_{category.value}"] for category in SYNC_CATEGORIES)
        erased = len(ledger.erased_users())
        memory = ", ".join(f"{name} {mib:.0f}" for name, mib in sorted(rss.items()))
        return (
            f"{_clock(now)}/{_clock(self.duration_s)}: direct {len(ledger.uploads)} "
            f"({done} done, {pending} pending), sync {sync}, reads "
            f"{ledger.actions['download_file'] + ledger.actions['presigned_get']}, exports "
            f"{ledger.actions['export_user_files']}, erasures {len(ledger.erasures)} "
            f"({erased} done); failures {sum(ledger.failures.values())}, refusals "
            f"{sum(ledger.refusals.values())}; load {_load()}; RSS MiB {memory}"
        )

    @staticmethod
    def _queue_depths(
        exports: dict[str, str], region: str, credentials: LocalCredentials
    ) -> dict[str, int]:
        """Messages left in the upload and erasure queues and their dead-letter queues."""
        sqs = emulator_client("sqs", exports["AWS_ENDPOINT_URL"], region, credentials=credentials)
        depths = {}
        for variable in ("WEARIT_UPLOAD_QUEUE_URL", "WEARIT_ERASURE_QUEUE_URL"):
            url = exports[variable]
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])[
                "Attributes"
            ]
            redrive = json.loads(attributes["RedrivePolicy"])
            dlq_name = str(redrive["deadLetterTargetArn"]).rsplit(":", 1)[-1]
            dlq = sqs.get_queue_url(QueueName=dlq_name)["QueueUrl"]
            for name, queue in ((url.rsplit("/", 1)[-1], url), (dlq_name, dlq)):
                counted = sqs.get_queue_attributes(
                    QueueUrl=queue,
                    AttributeNames=[
                        "ApproximateNumberOfMessages",
                        "ApproximateNumberOfMessagesNotVisible",
                    ],
                )["Attributes"]
                depths[name] = sum(int(value) for value in counted.values())
        return depths

    def _results(
        self, end_s: float, children: dict[str, Any], depths: dict[str, int], moto_mib: float | None
    ) -> dict[str, Any]:
        ledger = self.ledger
        uploads = list(ledger.uploads.values())
        latencies = sorted(
            u.settled_at_s - u.posted_at_s
            for u in uploads
            if u.state == "done" and u.settled_at_s is not None
        )
        erasure_s = [
            e.done_at_s - e.requested_at_s
            for e in ledger.erasures.values()
            if e.done_at_s is not None
        ]
        return {
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine(),
            "minutes": self.minutes,
            "traffic_s": round(end_s, 1),
            "workers": self.worker_count,
            "worker_concurrency": WORKER_CONCURRENCY,
            "pace": asdict(Pace().scaled(self.duration_s)),
            # glibc's tunables: they decide how RSS grows. The driver's are the app's (and
            # local up's); the workers and the eraser run with the functions' own.
            "allocator": {
                "driver": {k: v for k, v in sorted(os.environ.items()) if k.startswith("MALLOC_")},
                "workers_and_eraser": dict(ALLOCATOR_ENVIRONMENT),
            },
            "load_average": {"start": self.loads[0], "max": max(self.loads), "end": self.loads[-1]},
            "actions": dict(ledger.actions),
            "requests": dict(ledger.requests),
            "failures": dict(ledger.failures),
            "failure_examples": {
                k: ledger.examples[k] for k in ledger.failures if k in ledger.examples
            },
            "refusals": dict(ledger.refusals),
            "uploads": {
                "direct_posted": len(uploads),
                "direct_done": sum(u.state == "done" for u in uploads),
                "direct_rejected": sum(u.state == "rejected" for u in uploads),
                "direct_pending": sum(u.state == "pending" for u in uploads),
                "acknowledged_renditions": len(ledger.acknowledged),
                "post_to_done_median_s": _quantile(latencies, 0.5),
                "post_to_done_p95_s": _quantile(latencies, 0.95),
            },
            "erasures": [asdict(erasure) for erasure in ledger.erasures.values()],
            "erasure_median_s": round(statistics.median(erasure_s), 1) if erasure_s else None,
            "queues": depths,
            "children": children,
            "memory": {
                "warm_up_s": self.warm_up_s,
                "window_s": self.window_s,
                "moto_end_mib": moto_mib,
                "growth": self.memory.growth(self.warm_up_s, end_s, self.window_s),
                "samples": [asdict(sample) for sample in self.memory.samples],
            },
        }


def _quantile(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def _check_children(stopped: dict[str, Any]) -> checks.CheckResult:
    result = checks.CheckResult("workers and eraser ran to the end and drained", "")
    for name, child in stopped.items():
        if not child["alive_at_end"]:
            result.add(f"{name} had exited before the end")
        elif child["exit"] != 0:
            result.add(f"{name} exited {child['exit']} on SIGTERM")
    result.measured = f"{len(stopped)} processes, exit statuses " + ", ".join(
        f"{name} {child['exit']}" for name, child in stopped.items()
    )
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__)
    parser.add_argument(
        "--minutes", type=float, default=DEFAULT_MINUTES, help="traffic duration (default 30)"
    )
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--cdk-out", type=Path, default=Path("cdk.out"))
    parser.add_argument("--results", type=Path, default=RESULTS, help="where soak.json/md go")
    args = parser.parse_args(argv)
    if not 0 < args.minutes <= 24 * 60 or not 1 <= args.workers <= 8:
        parser.error("--minutes must lie in (0, 1440] and --workers in [1, 8]")
    started = time.monotonic()
    results = Soak(args.minutes, args.workers, args.cdk_out, args.results).run()
    table = report.write(results, args.results)
    print(table)
    failed = [check for check in results["checks"] if not check["passed"]]
    say(f"done in {_clock(time.monotonic() - started)}: {len(failed)} check(s) failed")
    for check in failed:
        say(f"FAILED {check['name']}: {check['problem_count']} problem(s)")
        for problem in check["problems"]:
            say(f"  - {problem}")
    return 1 if failed else 0
