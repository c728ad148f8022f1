"""``wearit-storage``: the SDK from a terminal, against AWS or a local S3.

Storage errors print one line naming the key and the cause (exit 1); bad arguments print a
usage error (exit 2). Configuration comes from the environment, as for the SDK
(``StorageSettings.from_env``); the repository's ``python -m wearit_local up`` starts a
local S3 and prints the lines to export.
"""

from __future__ import annotations

import argparse
import logging
import mimetypes
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from wearit_storage.errors import StorageError
from wearit_storage.paths import parse_key
from wearit_storage.repository import SyncStorageRepository
from wearit_storage.settings import StorageSettings
from wearit_storage.usage import StorageUsage
from wearit_storage.worker import UploadQueue, UploadWorker

PROGRAM = "wearit-storage"

Command = Callable[[argparse.Namespace], int]


def repository() -> SyncStorageRepository:
    return SyncStorageRepository.from_settings(StorageSettings.from_env())


def cmd_upload(args: argparse.Namespace) -> int:
    parse_key(args.key)  # reject a bad key before reading a large file
    data = Path(args.file).read_bytes()
    content_type = args.content_type or mimetypes.guess_type(args.key)[0] or "image/jpeg"
    with repository() as repo:
        url = repo.s3_client.upload_file(data, args.key, content_type)
    print(f"uploaded {args.key} ({len(data)} bytes, {content_type})")
    print(url)
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    with repository() as repo:
        data = repo.s3_client.download_file(args.key)
    if args.output == "-":
        sys.stdout.buffer.write(data)
    else:
        Path(args.output).write_bytes(data)
        print(f"downloaded {args.key} ({len(data)} bytes) to {args.output}")
    return 0


def cmd_presign(args: argparse.Namespace) -> int:
    with repository() as repo:
        print(repo.presigned_url(args.key, args.expires))
    return 0


def cmd_usage(args: argparse.Namespace) -> int:
    with repository() as repo:
        usage = repo.user_storage_usage(args.user)
    print_usage(usage, sys.stdout)
    return 0


def print_usage(usage: StorageUsage, out: TextIO) -> None:
    out.write(f"{'category':<10} {'objects':>8} {'bytes':>12} {'old versions':>13}\n")
    for category, entry in usage.categories.items():
        out.write(
            f"{category:<10} {entry.objects:>8} {entry.bytes:>12} {entry.noncurrent_bytes:>13}\n"
        )
    out.write(f"{'total':<10} {usage.objects:>8} {usage.bytes:>12} {usage.noncurrent_bytes:>13}\n")


PROGRESS_BAR_FROM = 1000  # entries; smaller users are erased in one batch anyway
PROGRESS_WIDTH = 30


def progress_bar(total: int, out: TextIO) -> Callable[[int], None]:
    def show(done: int) -> None:
        # Delete markers are not in the usage total, so the count may pass it.
        filled = min(PROGRESS_WIDTH, PROGRESS_WIDTH * done // max(total, 1))
        bar = "#" * filled + "." * (PROGRESS_WIDTH - filled)
        out.write(f"\rerasing [{bar}] {done} deleted")
        out.flush()

    return show


def cmd_erase_user(args: argparse.Namespace) -> int:
    with repository() as repo:
        usage = repo.user_storage_usage(args.user)
        versions = sum(c.objects + c.noncurrent_versions for c in usage.categories.values())
        if not args.yes:
            if not sys.stdin.isatty():
                raise UsageError("erase-user needs --yes when standard input is not a terminal")
            answer = input(
                f"Erase user {args.user}: {usage.objects} files, {versions} versions, in the "
                "primary and replica buckets, beyond recovery? Type the user id to confirm: "
            )
            if answer.strip() != args.user:
                print("aborted: nothing was deleted")
                return 1
        progress = progress_bar(versions, sys.stderr) if versions >= PROGRESS_BAR_FROM else None
        report = repo.delete_user_files(args.user, progress=progress)
        if progress is not None:
            sys.stderr.write("\n")
    for bucket, categories in report.deleted.items():
        for category, counts in categories.items():
            print(
                f"{bucket} {category}: {counts.versions_deleted} versions, "
                f"{counts.delete_markers_deleted} delete markers deleted"
            )
    if report:
        print(f"user {args.user} erased: nothing remains")
        return 0
    for failure in report.failures:
        print(f"failed: {failure.bucket}/{failure.key} ({failure.code}): {failure.message}")
    print(f"user {args.user} NOT fully erased; remaining: {report.remaining}. Run it again.")
    return 1


def cmd_restore(args: argparse.Namespace) -> int:
    with repository() as repo:
        version = repo.restore_previous_version(args.key)
    print(f"restored {args.key}: current version is now {version}")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    if args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings = StorageSettings.from_env()
    queue = UploadQueue.from_settings(settings)
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        with SyncStorageRepository.from_settings(settings) as repo:
            worker = UploadWorker(repo, queue, concurrency=args.concurrency)
            # SIGTERM (ECS, Kubernetes) and Ctrl-C drain: in-flight uploads finish.
            for stop_signal in previous:
                signal.signal(stop_signal, lambda *_: worker.stop())
            stats = worker.run(once=args.once)
    finally:
        for stop_signal, handler in previous.items():
            signal.signal(stop_signal, handler)
        queue.close()
    print(
        f"worker stopped: {stats.received} received, {stats.done} done, {stats.rejected} "
        f"rejected, {stats.retried} left to retry, {stats.settled_before} already settled, "
        f"{stats.ignored} ignored"
    )
    return 0


class UsageError(Exception):
    """Bad arguments: reported like argparse's own errors, exit 2."""


#: Commands of the repository's developer tool, which is not part of the SDK's package.
MOVED_COMMANDS = {
    "local": "python -m wearit_local up",
    "demo": "python -m wearit_local demo",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROGRAM, description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    upload = commands.add_parser("upload", help="upload a file to a key; print a GET URL")
    upload.add_argument("key", help="e.g. clothing/USER/ITEM/image.jpg")
    upload.add_argument("file", help="local file to upload")
    upload.add_argument("--content-type", help="default: guessed from the key's extension")
    upload.set_defaults(handler=cmd_upload)

    download = commands.add_parser("download", help="download a key")
    download.add_argument("key")
    download.add_argument("-o", "--output", default="-", help="file to write (default: stdout)")
    download.set_defaults(handler=cmd_download)

    presign = commands.add_parser("presign", help="print a presigned GET URL")
    presign.add_argument("key")
    presign.add_argument("--expires", type=int, help="seconds, 1 to 604800 (default per key)")
    presign.set_defaults(handler=cmd_presign)

    usage = commands.add_parser("usage", help="bytes and objects per category of a user")
    usage.add_argument("user")
    usage.set_defaults(handler=cmd_usage)

    erase = commands.add_parser("erase-user", help="erase every version of a user's files")
    erase.add_argument("user")
    erase.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    erase.set_defaults(handler=cmd_erase_user)

    restore = commands.add_parser("restore", help="undo the last overwrite or delete of a key")
    restore.add_argument("key")
    restore.set_defaults(handler=cmd_restore)

    worker = commands.add_parser(
        "worker", help="promote direct uploads announced on WEARIT_UPLOAD_QUEUE_URL"
    )
    worker.add_argument(
        "--concurrency", type=int, default=1, help="uploads rendered at once (default 1)"
    )
    worker.add_argument("--once", action="store_true", help="one receive (20 s poll), then exit")
    worker.set_defaults(handler=cmd_worker)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    arguments = sys.argv[1:] if argv is None else list(argv)
    if arguments and arguments[0] in MOVED_COMMANDS:
        parser.error(
            f"'{arguments[0]}' is a developer tool of the wearit-storage repository, not of the "
            f"SDK: run `{MOVED_COMMANDS[arguments[0]]}` from a checkout"
        )
    args = parser.parse_args(arguments)
    handler: Command = args.handler
    try:
        return handler(args)
    except UsageError as error:
        parser.error(str(error))  # exits with status 2
    except StorageError as error:
        key = f"{error.key}: " if error.key else ""
        print(f"{PROGRAM}: error: {key}{error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"{PROGRAM}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROGRAM}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
