"""The soak's end checks (``benchmarks/soak/checks.py``) on a bucket held in a dictionary:
each rule passes on what it must accept and names what it must refuse. The soak itself is
a benchmark (``make soak``), not run here."""

from __future__ import annotations

import hashlib

from benchmarks.soak import checks
from benchmarks.soak.checks import Version
from benchmarks.soak.ledger import DirectUpload, Erasure, Ledger
from benchmarks.soak.memory import MemoryLog, Sample
from wearit_storage.uploads.status import StatusRecord

RENDERED = b"the SDK's rendition"
DIGEST = hashlib.sha256(RENDERED).hexdigest()


class FakeBucket:
    """Versions per key, oldest first: bytes, or ``None`` for a delete marker."""

    def __init__(self, name: str, objects: dict[str, list[bytes | None]] | None = None) -> None:
        self.name = name
        self.objects = objects or {}

    def versions(self, prefix: str) -> list[Version]:
        return [
            Version(key, f"v{index}", body is None, index == len(bodies) - 1)
            for key, bodies in sorted(self.objects.items())
            if key.startswith(prefix)
            for index, body in enumerate(bodies)
        ]

    def current(self, key: str) -> bytes | None:
        bodies = self.objects.get(key)
        return bodies[-1] if bodies else None

    def read(self, key: str, version_id: str) -> bytes:
        body = self.objects[key][int(version_id.removeprefix("v"))]
        assert body is not None
        return body


def _record(state: str, **fields: str) -> bytes:
    return StatusRecord(state, "photo.jpg", **fields).to_json()  # type: ignore[arg-type]


def _ledger() -> Ledger:
    ledger = Ledger()
    ledger.users = {"kept": "active", "gone": "erased"}
    ledger.acknowledge("clothing/kept/a/photo.jpg", DIGEST, "kept", "sync", stable=True)
    ledger.acknowledge("clothing/gone/a/photo.jpg", DIGEST, "gone", "sync", stable=True)
    ledger.uploads["s-kept"] = DirectUpload("s-kept", "kept", "d-1", "jpeg", 1.0, state="done")
    ledger.uploads["s-gone"] = DirectUpload("s-gone", "gone", "d-2", "jpeg", 1.0)
    ledger.erasures["gone"] = Erasure("gone", 2.0, 1, 3, state="done")
    return ledger


def test_acknowledged_renditions_must_be_current_and_what_the_sdk_rendered() -> None:
    ledger = _ledger()
    good = FakeBucket("data", {"clothing/kept/a/photo.jpg": [b"older", RENDERED]})
    assert checks.check_acknowledged(ledger, good).passed  # the erased user's is not asked
    missing = checks.check_acknowledged(ledger, FakeBucket("data"))
    assert missing.problem_count == 1
    assert "missing" in missing.problems[0]
    stale = FakeBucket("data", {"clothing/kept/a/photo.jpg": [RENDERED, b"overwritten"]})
    assert "differs" in checks.check_acknowledged(ledger, stale).problems[0]
    deleted = FakeBucket("data", {"clothing/kept/a/photo.jpg": [RENDERED, None]})
    assert not checks.check_acknowledged(ledger, deleted).passed


def test_every_direct_upload_of_a_remaining_user_must_settle() -> None:
    ledger = _ledger()
    assert checks.check_settled(ledger).passed  # s-gone is pending, but its user is erased
    ledger.uploads["s-lost"] = DirectUpload("s-lost", "kept", "d-3", "png", 5.0)
    result = checks.check_settled(ledger)
    assert result.problem_count == 1
    assert "s-lost" in result.problems[0]


def test_an_erased_user_leaves_nothing_but_a_refusal_that_names_no_one() -> None:
    ledger = _ledger()
    refusal = _record("rejected", reason="user_erased", upload_etag="e")
    data = FakeBucket(
        "data",
        {
            "erasures/gone/request.json": [b"{}"],  # the tombstone stays, by design
            "temp/s-gone/status.json": [refusal],
            "clothing/kept/a/photo.jpg": [RENDERED],
        },
    )
    replica = FakeBucket("replica")
    result = checks.check_erased(ledger, data, replica, {"gone": "done"})
    assert result.passed, result.problems
    assert "1 refusal records" in result.measured

    assert not checks.check_erased(ledger, data, replica, {"gone": "requested"}).passed
    data.objects["exports/gone/x.zip"] = [b"zip", None]  # a version and a delete marker
    assert checks.check_erased(ledger, data, replica, {"gone": "done"}).problem_count == 2
    del data.objects["exports/gone/x.zip"]
    replica.objects["body/gone/b/photo.jpg"] = [RENDERED]
    assert "replica" in checks.check_erased(ledger, data, replica, {"gone": "done"}).problems[0]
    replica.objects.clear()
    done = _record("done", main_key="clothing/gone/d-2/image.jpg")
    data.objects["temp/s-gone/status.json"] = [done]  # names the user's key: not allowed
    assert not checks.check_erased(ledger, data, replica, {"gone": "done"}).passed


def test_temp_may_hold_settled_records_only() -> None:
    claim = _record("processing")
    clean = FakeBucket(
        "data",
        {
            "temp/s1/status.json": [claim, _record("done", main_key="clothing/u/i/image.jpg")],
            "temp/s2/status.json": [claim, _record("rejected", reason="corrupt")],
        },
    )
    result = checks.check_temp(clean)
    assert result.passed
    assert result.measured.startswith("2 settled status records (2 earlier")
    clean.objects["temp/s3/photo.jpg"] = [b"raw photo"]
    clean.objects["temp/s4/status.json"] = [claim]
    clean.objects["temp/s5/photo.jpg"] = [b"raw photo", None]
    problems = checks.check_temp(clean).problems
    assert sorted(problems) == [
        "delete marker at temp/s5/photo.jpg",
        "temp/s4/status.json says processing",
        "upload left: temp/s3/photo.jpg",
        "upload left: temp/s5/photo.jpg",
    ]


def test_failures_fail_the_run_and_refusals_do_not() -> None:
    ledger = Ledger()
    ledger.refuse("download_file", "ObjectNotFound(not_found)")
    assert checks.check_no_failures(ledger).passed
    ledger.fail("presigned_get", "HTTPError(403)", "Forbidden")
    assert checks.check_no_failures(ledger).problems == ["presigned_get: HTTPError(403): Forbidden"]


def test_flat_compares_the_window_after_the_warm_up_with_the_last_one() -> None:
    memory = MemoryLog(sdk=("worker",))
    # A render in flight at 20 s is no growth: each side is a window's median.
    for at_s, worker in [(0, 100), (10, 102), (20, 300), (30, 104), (40, 106)]:
        memory.samples.append(Sample(at_s, {"worker": worker, "moto": worker / 2}))
    growth = memory.growth(warm_up_s=0.0, end_s=40.0, window_s=10.0)
    assert (growth["worker"]["after_warm_up_mib"], growth["worker"]["end_mib"]) == (101, 105)
    assert growth["worker"]["flat"] is True
    assert "flat" not in growth["moto"]  # reported, not judged
    assert checks.check_flat(growth).passed
    for at_s, worker in [(50, 130), (60, 135)]:
        memory.samples.append(Sample(at_s, {"worker": worker}))
    grown = checks.check_flat(memory.growth(warm_up_s=0.0, end_s=60.0, window_s=10.0))
    assert grown.problems == ["worker: 101.0 MiB after the warm-up, 132.5 MiB at the end (0.312)"]
