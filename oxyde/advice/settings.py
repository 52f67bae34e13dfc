"""What the advisor looks for and its thresholds: ``AdvisorSettings`` and its environment form."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

__all__ = ["DETECTIONS", "AdvisorConfigError", "AdvisorSettings", "from_env"]

#: Every detection, by the name settings, findings and the environment use.
DETECTIONS: tuple[str, ...] = (
    "n_plus_one",
    "loop_writes",
    "read_modify_write",
    "unbounded_read",
    "missing_index",
)

#: threshold name -> (smallest allowed value, what it counts)
_THRESHOLDS: dict[str, tuple[int, str]] = {
    "n_plus_one": (2, "runs of one relation-key query shape with different values"),
    "loop_writes": (2, "create()/save() calls of one model from one line"),
    "unbounded_rows": (1, "rows an all() without limit() may return"),
    "index_sample_after": (1, "runs of a filtered shape before its plan is checked"),
    "index_table_rows": (1, "rows a table needs before a full scan of it is reported"),
}


class AdvisorConfigError(ValueError):
    """An unknown detection name or a threshold out of range."""


@dataclass(frozen=True)
class AdvisorSettings:
    """The advisor's configuration; every check runs at construction."""

    #: the detections that run (a subset of ``DETECTIONS``)
    detections: frozenset[str] = field(default_factory=lambda: frozenset(DETECTIONS))
    #: one relation-key shape run this many times with different values in one scope
    n_plus_one: int = 5
    #: create()/save() of one model from one line this many times in one scope
    loop_writes: int = 10
    #: an all() with no limit() returning more rows than this
    unbounded_rows: int = 1000
    #: a filtered shape's plan is checked (in the background) after this many runs
    index_sample_after: int = 20
    #: full scans of tables with fewer rows than this are not reported
    index_table_rows: int = 1000
    #: level of the records sent to the ``oxyde.advice`` logger
    log_level: int = logging.WARNING

    def __post_init__(self) -> None:
        names = frozenset(self.detections)
        unknown = sorted(names - set(DETECTIONS))
        if unknown:
            raise AdvisorConfigError(
                f"unknown advisor detection(s) {', '.join(map(repr, unknown))}; "
                f"valid: {', '.join(DETECTIONS)}"
            )
        object.__setattr__(self, "detections", names)
        for name, (smallest, meaning) in _THRESHOLDS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < smallest:
                raise AdvisorConfigError(
                    f"advisor threshold {name}={value!r} is out of range: it counts {meaning} "
                    f"and must be an integer >= {smallest}"
                )
        if not isinstance(self.log_level, int) or isinstance(self.log_level, bool):
            raise AdvisorConfigError(f"log_level must be a logging level, got {self.log_level!r}")

    def with_changes(self, **changes: Any) -> AdvisorSettings:
        """A copy with ``changes`` applied (and checked)."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise AdvisorConfigError(
                f"unknown advisor setting(s) {', '.join(unknown)}; "
                f"valid: {', '.join(sorted(known))}"
            )
        return replace(self, **changes)


def _detections(text: str) -> frozenset[str] | None:
    """``OXYDE_ADVICE``'s value as detections; ``None`` when it turns the advisor off."""
    value = text.strip().lower()
    if value in ("", "0", "off", "false", "no"):
        return None
    if value in ("1", "on", "true", "yes", "all"):
        return frozenset(DETECTIONS)
    return frozenset(part.strip() for part in value.split(",") if part.strip())


def _thresholds(text: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        name, sep, number = part.partition("=")
        name = name.strip()
        if not sep or name not in _THRESHOLDS:
            raise AdvisorConfigError(
                f"OXYDE_ADVICE_THRESHOLDS: {part.strip()!r} is not NAME=INTEGER with NAME one of "
                f"{', '.join(_THRESHOLDS)}"
            )
        try:
            out[name] = int(number)
        except ValueError:
            raise AdvisorConfigError(
                f"OXYDE_ADVICE_THRESHOLDS: {name}={number.strip()!r} is not an integer"
            ) from None
    return out


def from_env(environ: Mapping[str, str] | None = None) -> AdvisorSettings | None:
    """Settings from ``OXYDE_ADVICE`` (``1``/``all`` or detection names, comma-separated)
    and ``OXYDE_ADVICE_THRESHOLDS`` (``n_plus_one=3,unbounded_rows=500``); ``None`` when
    the advisor stays off."""
    env = os.environ if environ is None else environ
    detections = _detections(env.get("OXYDE_ADVICE", ""))
    if detections is None:
        return None
    try:
        return AdvisorSettings(
            detections=detections, **_thresholds(env.get("OXYDE_ADVICE_THRESHOLDS", ""))
        )
    except AdvisorConfigError as exc:
        raise AdvisorConfigError(f"OXYDE_ADVICE: {exc}") from None


def check_names(names: Iterable[str]) -> frozenset[str]:
    """``names`` as detections, or ``AdvisorConfigError`` naming the unknown ones."""
    return AdvisorSettings(detections=frozenset(names)).detections
