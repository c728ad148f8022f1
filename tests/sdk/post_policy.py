"""S3's rules for a browser POST, checked on the decoded policy: moto enforces none of them.

From the S3 API reference (*POST Policy*, *Condition Matching*): every condition of the
policy must hold for the submitted form (exact matches, ``eq``, ``starts-with``, and
``content-length-range`` on the file's size), and every form field must be named by at least
one condition, except ``policy``, ``x-amz-signature``, ``file`` and fields whose names start
with ``x-ignore-``. Field names match case-insensitively; values exactly. The ``bucket``
condition is matched against the bucket the form is posted to, not a form field.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

_UNCONDITIONED = frozenset({"policy", "x-amz-signature", "file"})


def decoded_policy(fields: Mapping[str, str]) -> dict[str, Any]:
    policy: dict[str, Any] = json.loads(base64.b64decode(fields["policy"]))
    return policy


def policy_violations(
    fields: Mapping[str, str], *, bucket: str, file_size: int, now: datetime | None = None
) -> list[str]:
    """Why S3 would refuse a POST of ``fields`` plus a file of ``file_size`` bytes to
    ``bucket`` (empty: it would accept it)."""
    policy = decoded_policy(fields)
    form = {name.lower(): value for name, value in fields.items()}
    form["bucket"] = bucket
    problems: list[str] = []
    expiration = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    if expiration <= (now or datetime.now(UTC)):
        problems.append(f"the policy expired at {policy['expiration']}")
    conditioned: set[str] = set()
    for condition in policy["conditions"]:
        if isinstance(condition, dict):
            ((name, expected),) = condition.items()
            conditioned.add(name.lower())
            if form.get(name.lower()) != expected:
                problems.append(f"{name!r} must be {expected!r}, the form has {form.get(name)!r}")
            continue
        operator, *arguments = condition
        if operator == "content-length-range":
            low, high = arguments
            if not low <= file_size <= high:
                problems.append(f"a file of {file_size} bytes is outside [{low}, {high}]")
            continue
        field, operand = arguments
        name = str(field).removeprefix("$").lower()
        conditioned.add(name)
        value = form.get(name)
        if value is None:
            problems.append(f"{condition} names {name!r}, which the form does not carry")
        elif operator == "eq" and value != operand:
            problems.append(f"{name!r} must equal {operand!r}, the form has {value!r}")
        elif operator == "starts-with" and not value.startswith(operand):
            problems.append(f"{name!r} must start with {operand!r}, the form has {value!r}")
        elif operator not in ("eq", "starts-with"):
            problems.append(f"unknown condition {condition}")
    for name in form.keys() - conditioned - _UNCONDITIONED - {"bucket"}:
        if not name.startswith("x-ignore-"):
            problems.append(f"the form field {name!r} is named by no condition")
    return problems
