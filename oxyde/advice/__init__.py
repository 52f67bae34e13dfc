"""The advisor: the performance guide checked at run time.

Off by default. When on, the query layer reports what it runs, and the advisor finds the
patterns the guide warns about: N+1 queries, ``create()``/``save()`` in a loop,
read-modify-write of numbers, unbounded reads and filters no index serves. Each is a
``Finding`` sent to the ``oxyde.advice`` logger and kept in the current scope::

    import oxyde.advice

    oxyde.advice.enable()                      # or OXYDE_ADVICE=1, or pytest --oxyde-advice
    async with oxyde.advice.collect() as found:
        ...
    for finding in found:
        print(finding.message)

It never raises into user code. Layer: between ``oxyde.db`` and ``oxyde.queries``: the
query layer calls its hooks, and it imports only ``oxyde.db`` and the layers below it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from oxyde.advice import indexcheck, scopes
from oxyde.advice.findings import Finding
from oxyde.advice.scopes import collect
from oxyde.advice.settings import DETECTIONS, AdvisorConfigError, AdvisorSettings, from_env

__all__ = [
    "DETECTIONS",
    "AdvisorConfigError",
    "AdvisorSettings",
    "Finding",
    "collect",
    "configure",
    "disable",
    "enable",
    "is_enabled",
    "reset",
    "settings",
]


def enable(detections: Iterable[str] | None = None, **thresholds: Any) -> AdvisorSettings:
    """Turn the advisor on for every task of the process (``detections`` limits what it
    looks for; keyword arguments set thresholds, see ``AdvisorSettings``)."""
    configure(detections, **thresholds)
    scopes.state.enabled = True
    scopes.refresh_switch()
    return scopes.state.settings


def configure(detections: Iterable[str] | None = None, **thresholds: Any) -> AdvisorSettings:
    """Change what the advisor looks for without turning it on or off."""
    changes: dict[str, Any] = dict(thresholds)
    if detections is not None:
        if isinstance(detections, str):
            detections = [detections]
        changes["detections"] = frozenset(detections)
    scopes.state.settings = scopes.state.settings.with_changes(**changes)
    return scopes.state.settings


def disable() -> None:
    """Stop the process-wide advisor (``collect()`` blocks still watch themselves)."""
    scopes.state.enabled = False
    scopes.refresh_switch()


def is_enabled() -> bool:
    return scopes.state.enabled


def settings() -> AdvisorSettings:
    return scopes.state.settings


def reset() -> None:
    """Back to the defaults, off, with every count forgotten."""
    scopes.state.settings = AdvisorSettings()
    scopes.state.enabled = False
    scopes.refresh_switch()
    indexcheck.reset()


def _from_environment() -> None:
    found = from_env()
    if found is not None:
        scopes.state.settings = found
        scopes.state.enabled = True
        scopes.refresh_switch()


_from_environment()
