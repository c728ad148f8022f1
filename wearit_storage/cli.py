"""``wearit-storage``: the SDK from a terminal, against AWS or a local S3.

Storage errors print one line naming the key and the cause (exit 1); bad arguments, an
unreadable input file included, print a usage error naming the argument (exit 2); an
erasure whose confirmation was mistyped does nothing (exit 3). Configuration comes from
the environment, as for the SDK (``StorageSettings.from_env``); the repository's
``python -m wearit_local up`` starts a local S3 and prints the lines to export. The SDK's
own log lines reach stderr only with ``--verbose``.
"""

from __future__ import annotations

import argparse
import logging
import mimetypes
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from wearit_storage import __version__
from wearit_storage.categories import Category
from wearit_storage.errors import (
    InvalidStorageKey,
    InvalidStorageRequest,
    ObjectNotFound,
    StorageError,
)
from wearit_storage.paths import parse_key, validate_id, validate_key
from wearit_storage.privacy.export import ExportProgress
from wearit_storage.privacy.usage import StorageUsage
from wearit_storage.repository import SyncStorageRepository
from wearit_storage.s3.presign import validate_expiry
from wearit_storage.s3.versions import KeyVersion, list_key_versions
from wearit_storage.settings import MAX_PRESIGN_EXPIRY_S, StorageSettings
from wearit_storage.workers import QueuePoller, UploadWorker, WorkQueue
from wearit_storage.workers.erasures import ErasureMessages

PROGRAM = "wearit-storage"

Command = Callable[[argparse.Namespace], int]


def repository() -> SyncStorageRepository:
    return SyncStorageRepository.from_settings(StorageSettings.from_env())


#: Exit status of an erasure whose confirmation did not match: nothing was done.
EXIT_ABORTED = 3


def cmd_upload(args: argparse.Namespace) -> int:
    """Category keys go through the image pipeline, as the repository's uploads do; temp/
    keys are stored raw, as a direct upload would be (then promoted)."""
    try:
        data = Path(args.file).read_bytes()
    except OSError as error:
        # A bad argument like any other, found before any request.
        raise UsageError(f"argument FILE: cannot read {args.file!r}: {error.strerror}") from None
    parsed = parse_key(args.key)
    with repository() as repo:
        if parsed.category is Category.TEMP:
            content_type = args.content_type or mimetypes.guess_type(args.key)[0]
            stored = repo.upload_temp(
                parsed.owner_id, data, parsed.filename, content_type or "application/octet-stream"
            )
            print(f"uploaded {stored.key} ({len(data)} bytes, raw, awaiting promotion)")
            print(repo.presigned_url(stored.key))
            return 0
        image = repo.store_at_key(args.key, data)
    thumbnail = f" + {image.thumbnail.key}" if image.thumbnail is not None else ""
    print(f"uploaded {image.main.key}{thumbnail} ({len(data)} bytes in, rendered as JPEG)")
    print(image.url)
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
        print(repo.image_url(args.key, expires_in=args.expires))
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
        # Versions written while the erasure runs are erased too: the count may pass it.
        filled = min(PROGRESS_WIDTH, PROGRESS_WIDTH * done // max(total, 1))
        bar = "#" * filled + "." * (PROGRESS_WIDTH - filled)
        out.write(f"\rerasing [{bar}] {done} deleted")
        out.flush()

    return show


def cmd_erase_user(args: argparse.Namespace) -> int:
    with repository() as repo:
        preview = repo.preview_user_erasure(args.user)
        if not args.yes:
            if not sys.stdin.isatty():
                raise UsageError("--yes is required when standard input is not a terminal")
            answer = input(
                f"Erase user {args.user}: {preview.files} files ({preview.exports} of them "
                f"export archives), {preview.versions} versions and delete markers, "
                f"{preview.multipart_uploads} unfinished uploads, in the primary and replica "
                "buckets, beyond recovery? Type the user id to confirm: "
            )
            if answer.strip() != args.user:
                print(f"aborted: {answer.strip()!r} is not {args.user!r}; nothing was deleted")
                return EXIT_ABORTED
        versions = preview.versions
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


EXPORT_PROGRESS_FROM_OBJECTS = 1000
EXPORT_PROGRESS_FROM_BYTES = 100 * 1024**2  # a few seconds of streaming, or much more


def export_progress_bar(total_objects: int, total_bytes: int, out: TextIO) -> ExportProgress:
    def show(objects: int, nbytes: int) -> None:
        # Files uploaded while the export runs are included, so the counts may pass the total.
        filled = min(PROGRESS_WIDTH, PROGRESS_WIDTH * nbytes // max(total_bytes, 1))
        bar = "#" * filled + "." * (PROGRESS_WIDTH - filled)
        out.write(
            f"\rexporting [{bar}] {objects}/{total_objects} files, "
            f"{nbytes / 1e6:.1f}/{total_bytes / 1e6:.1f} MB"
        )
        out.flush()

    return show


def cmd_export_user(args: argparse.Namespace) -> int:
    with repository() as repo:
        usage = repo.user_storage_usage(args.user)
        long_export = (
            usage.objects >= EXPORT_PROGRESS_FROM_OBJECTS
            or usage.bytes >= EXPORT_PROGRESS_FROM_BYTES
        )
        progress = (
            export_progress_bar(usage.objects, usage.bytes, sys.stderr) if long_export else None
        )
        try:
            export = repo.export_user_files(args.user, progress=progress)
        finally:
            if progress is not None:
                sys.stderr.write("\n")
        print(
            f"exported user {args.user}: {export.objects} files, {export.bytes} bytes, "
            f"archive {export.key} ({export.archive_bytes} bytes)"
        )
        if args.output is not None:
            size = repo.s3_client.download_to_file(export.key, args.output)
            print(f"downloaded {export.key} ({size} bytes) to {args.output}")
        else:
            print(f"download link (valid {export.expires_in} s):")
            print(export.url)
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    """What the SDK's ``restore_previous_version`` does: the key's whole upload comes back."""
    with repository() as repo:
        restored = repo.restore_renditions(args.key)
    print(f"restored {args.key}: current version is now {restored.version_id}")
    for key, version in restored.restored.items():
        print(f"restored {key} (same upload): current version is now {version}")
    for key in restored.hidden:
        print(f"hid {key}: the restored upload has no rendition there (delete marker)")
    return 0


def cmd_versions(args: argparse.Namespace) -> int:
    with repository() as repo:
        versions = list_key_versions(repo.s3_client, args.key)
        bucket = repo.s3_client.bucket_name
    if not versions:
        raise ObjectNotFound(f"no versions of {args.key!r} in bucket {bucket!r}", key=args.key)
    print_versions(versions, sys.stdout)
    return 0


def print_versions(versions: Sequence[KeyVersion], out: TextIO) -> None:
    """One line per version, newest first; ``restore`` copies the newest stored version
    below the current one back on top."""
    width = max(len("version id"), *(len(v.version_id) for v in versions))
    out.write(f"{'version id':<{width}} {'last modified (UTC)':<20} {'bytes':>12}  state\n")
    for version in versions:
        modified = version.last_modified.strftime("%Y-%m-%d %H:%M:%S")
        size = "-" if version.is_delete_marker else str(version.size)
        out.write(f"{version.version_id:<{width}} {modified:<20} {size:>12}  {_state(version)}\n")


def _state(version: KeyVersion) -> str:
    states = ["current"] if version.is_latest else []
    if version.is_delete_marker:
        states.append("delete marker")
    return ", ".join(states)


def cmd_worker(args: argparse.Namespace) -> int:
    settings = StorageSettings.from_env()
    queue = WorkQueue.uploads(settings)
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        with SyncStorageRepository.from_settings(settings) as repo:
            concurrency = args.concurrency or settings.worker_concurrency
            worker = UploadWorker(repo, queue, concurrency=concurrency)

            def drain(signum: int, _: object) -> None:
                # Said at once: the long poll in progress can hold the exit for 20 s.
                worker.stop()
                print(
                    f"{PROGRAM} worker: {signal.Signals(signum).name}: stopping; "
                    f"{worker.in_flight} upload message(s) in flight finish first, and the "
                    f"receive in progress returns within {worker.wait_s} s",
                    file=sys.stderr,
                    flush=True,
                )

            # SIGTERM (ECS, Kubernetes) and Ctrl-C drain: in-flight uploads finish.
            for stop_signal in previous:
                signal.signal(stop_signal, drain)
            stats = worker.run(once=args.once)
    finally:
        for stop_signal, handler in previous.items():
            signal.signal(stop_signal, handler)
        queue.close()
    print(f"worker stopped: {stats.summary()}")
    return 0


def cmd_eraser(args: argparse.Namespace) -> int:
    settings = StorageSettings.from_env()
    queue = WorkQueue.erasures(settings)
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        with SyncStorageRepository.from_settings(settings) as repo:
            messages = ErasureMessages.on_queue(
                queue, repo.s3_client, repo.replica_client, settings
            )
            poller = QueuePoller(messages, queue, name="eraser")
            for stop_signal in previous:
                signal.signal(stop_signal, lambda *_: poller.stop())
            poller.poll(once=args.once)
    finally:
        for stop_signal, handler in previous.items():
            signal.signal(stop_signal, handler)
        queue.close()
    print(f"eraser stopped: {messages.passes} erasure pass(es) done")
    return 0


class UsageError(Exception):
    """Bad arguments found by a command: reported like argparse's own errors, exit 2."""


# Argument types: argparse reports their errors naming the argument, with exit status 2.


def key_argument(value: str) -> str:
    try:
        return validate_key(value)
    except InvalidStorageKey as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def user_argument(value: str) -> str:
    try:
        return validate_id(value, field="user id")
    except InvalidStorageKey as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def concurrency_argument(value: str) -> int:
    if not value.isascii() or not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of at least 1")
    return int(value)


def expiry_argument(value: str) -> int:
    try:
        return validate_expiry(int(value))
    except (ValueError, InvalidStorageRequest):
        raise argparse.ArgumentTypeError(
            f"invalid value {value!r}: use a whole number of seconds, 1 to "
            f"{MAX_PRESIGN_EXPIRY_S} (presigned URLs cannot outlive 7 days)"
        ) from None


#: Commands of the repository's developer tool, which is not part of the SDK's package.
MOVED_COMMANDS = {
    "local": "python -m wearit_local up",
    "demo": "python -m wearit_local demo",
}


DESCRIPTION = "The WearIT storage SDK from a terminal, against AWS or a local S3."
EPILOG = """\
environment (read as the SDK reads it):
  AWS_REGION_NAME      region of the data bucket (required)
  AWS_BUCKET_NAME      the data bucket (required; or WEARIT_ENV=dev|prod with
                       AWS_BUCKET_NAME_DEV / AWS_BUCKET_NAME_PROD)
  AWS_ENDPOINT_URL     a local or S3-compatible endpoint (optional; unset: AWS itself)
  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
                       optional; unset: the default credential chain (profiles, roles)
  WEARIT_REPLICA_BUCKET_NAME, WEARIT_REPLICA_REGION_NAME
                       the replica bucket, which erase-user also erases

In a checkout, python -m wearit_local up starts a local S3 and prints these to export.
Exit status: 0 done, 1 storage error, 2 bad arguments (a missing input file included),
3 erase-user aborted at its confirmation (nothing deleted), 130 interrupted.
"""

KEY_HELP = "storage key, e.g. clothing/USER/ITEM/image.jpg or avatars/USER/avatar.jpg"
USER_HELP = "user id (1-128 characters of A-Z, a-z, 0-9, '_' or '-')"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log each storage operation to stderr"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: Command, summary: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=summary, description=summary)
        # The command's own parser reports the errors its handler finds (its usage line).
        sub.set_defaults(handler=handler, command_parser=sub)
        return sub

    upload = command(
        "upload",
        cmd_upload,
        "render an image into a key's renditions (stored as .jpg, with its thumbnail where "
        "the category has one; temp/ keys stored raw); print a GET URL",
    )
    upload.add_argument("key", type=key_argument, metavar="KEY", help=KEY_HELP)
    upload.add_argument("file", metavar="FILE", help="local file to upload")
    upload.add_argument("--content-type", help="default: guessed from the key's extension")

    download = command("download", cmd_download, "download a key to a file or stdout")
    download.add_argument("key", type=key_argument, metavar="KEY", help=KEY_HELP)
    download.add_argument("-o", "--output", default="-", help="file to write (default: stdout)")

    presign = command("presign", cmd_presign, "print a presigned GET URL")
    presign.add_argument("key", type=key_argument, metavar="KEY", help=KEY_HELP)
    presign.add_argument(
        "--expires",
        type=expiry_argument,
        metavar="SECONDS",
        help=f"1 to {MAX_PRESIGN_EXPIRY_S} (default: per key, shorter for body/)",
    )

    usage = command("usage", cmd_usage, "bytes and objects per category of a user")
    usage.add_argument("user", type=user_argument, metavar="USER", help=USER_HELP)

    erase = command("erase-user", cmd_erase_user, "erase every version of a user's files")
    erase.add_argument("user", type=user_argument, metavar="USER", help=USER_HELP)
    erase.add_argument(
        "--yes", action="store_true", help="do not ask (required without a terminal)"
    )

    restore = command(
        "restore",
        cmd_restore,
        "undo the last overwrite or delete of a key, with the other renditions of its upload",
    )
    restore.add_argument("key", type=key_argument, metavar="KEY", help=KEY_HELP)

    versions = command("versions", cmd_versions, "list a key's versions, newest first")
    versions.add_argument("key", type=key_argument, metavar="KEY", help=KEY_HELP)

    export = command(
        "export-user", cmd_export_user, "write a ZIP of every file of a user (GDPR export)"
    )
    export.add_argument("user", type=user_argument, metavar="USER", help=USER_HELP)
    export.add_argument("-o", "--output", help="also download the archive to this file")

    worker = command(
        "worker", cmd_worker, "promote direct uploads announced on WEARIT_UPLOAD_QUEUE_URL"
    )
    worker.add_argument(
        "--concurrency",
        type=concurrency_argument,
        help="uploads rendered at once (default: WEARIT_WORKER_CONCURRENCY, else 1)",
    )
    worker.add_argument("--once", action="store_true", help="one receive (20 s poll), then exit")
    # A worker's log is its output: one line per upload, with the time, even without -v.
    worker.set_defaults(log_operations=True)

    eraser = command("eraser", cmd_eraser, "run the erasures requested on WEARIT_ERASURE_QUEUE_URL")
    eraser.add_argument("--once", action="store_true", help="one receive (20 s poll), then exit")
    eraser.set_defaults(log_operations=True)

    return parser


@contextmanager
def sdk_logging(verbose: bool, *, timestamps: bool = False) -> Iterator[None]:
    """The SDK's log lines on stderr with ``--verbose`` (and for ``worker``, whose log is its
    output: ``timestamps``), nowhere otherwise; one handler, so each line is printed once.

    This command prints each error itself, in one line; with no handler configured,
    Python's last-resort handler would print the SDK's ERROR log line for it too.
    """
    sdk_logger = logging.getLogger("wearit_storage")
    handler: logging.Handler = logging.NullHandler()
    previous_level = sdk_logger.level
    if verbose or timestamps:
        handler = logging.StreamHandler(sys.stderr)
        line = "%(levelname)s %(message)s"
        handler.setFormatter(logging.Formatter(f"%(asctime)s {line}" if timestamps else line))
        sdk_logger.setLevel(logging.INFO)
    sdk_logger.addHandler(handler)
    try:
        yield
    finally:
        sdk_logger.removeHandler(handler)
        sdk_logger.setLevel(previous_level)


def error_line(error: StorageError) -> str:
    """``key: message``, with the key only when the message does not name it already."""
    if error.key and error.key not in str(error):
        return f"{error.key}: {error}"
    return str(error)


def silence_stdout() -> None:
    """Point stdout at the null device once its reader has gone (``| head``): the
    interpreter's final flush would otherwise fail again and print ``Broken pipe``."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


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
        with sdk_logging(args.verbose, timestamps=getattr(args, "log_operations", False)):
            status = handler(args)
            # A reader that left (`| head`) fails the flush here rather than at exit.
            sys.stdout.flush()
            return status
    except UsageError as error:
        command_parser: argparse.ArgumentParser = args.command_parser
        command_parser.error(str(error))  # exits with status 2
    except StorageError as error:
        print(f"{PROGRAM}: error: {error_line(error)}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # Whoever reads the output stopped reading (`download KEY | head -c 20`): like
        # cat, stop quietly.
        silence_stdout()
        return 0
    except OSError as error:
        print(f"{PROGRAM}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROGRAM}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
