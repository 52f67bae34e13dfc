"""MkDocs hooks: a nav that tolerates pages being added and removed.

The nav in ``mkdocs.yml`` may name pages that do not exist yet (they are left out instead
of failing ``--strict``), and a page under ``docs/`` that the nav does not name is listed
under "More" rather than built unreachable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: Top-level files of docs/ that are not pages of their own.
NOT_PAGES = frozenset({"README.md"})


def _prune(entries: list[Any], docs: Path, named: set[str]) -> list[Any]:
    kept: list[Any] = []
    for entry in entries:
        if isinstance(entry, dict):
            ((title, target),) = entry.items()
            if isinstance(target, list):
                children = _prune(target, docs, named)
                if children:
                    kept.append({title: children})
                continue
            entry_target = target
        else:
            entry_target = entry
        if "://" in entry_target:
            kept.append(entry)
        elif (docs / entry_target).is_file():
            named.add(entry_target)
            kept.append(entry)
    return kept


def on_config(config: Any) -> Any:
    docs = Path(config["docs_dir"])
    named: set[str] = set()
    nav = _prune(list(config["nav"] or []), docs, named)
    unnamed = sorted(
        path.relative_to(docs).as_posix()
        for path in docs.rglob("*.md")
        if path.relative_to(docs).as_posix() not in named and path.name not in NOT_PAGES
    )
    if unnamed:
        nav.append({"More": unnamed})
    config["nav"] = nav
    return config
