"""Building frozen dataclasses from JSON-like dicts, refusing fields they do not have."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")


def from_known_fields(cls: type[T], data: dict[str, Any], what: str,
                      error: type[Exception]) -> T:
    """``cls(**data)``, or ``error`` naming the fields ``cls`` does not know (e.g. a typo)."""
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise error(f"{what}: unknown field(s) {', '.join(unknown)}")
    return cls(**data)
