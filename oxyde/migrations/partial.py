"""How far a migration got before one of its statements failed, where the database
cannot roll DDL back (MySQL, PostgreSQL statements that run outside a transaction).

It is kept in the ``partial`` value of the migration's record as ``upgrade 2/5 9f3c0a1b``:
the direction, how many of the statements ran (the next one is the one that failed),
how many there are, a digest of the statements that ran, and ``online`` when they were
PostgreSQL online-mode statements. The digest lets the next
``migrate`` continue only when the migration still starts with those statements.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from oxyde.migrations.errors import MigrationError
from oxyde.migrations.operations import Step

__all__ = ["PartialRun", "statements_digest"]

_FORMAT = re.compile(r"^(upgrade|downgrade) (\d+)/(\d+)(?: ([0-9a-f]+))?( online)?$")


def statements_digest(steps: Sequence[Step]) -> str:
    """A short digest of ``steps``' SQL, in order."""
    digest = hashlib.sha256()
    for step in steps:
        digest.update(step.sql.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class PartialRun:
    backwards: bool
    #: statements that ran; the one at this index failed
    done: int
    total: int
    #: digest of the statements that ran (None in records written without it)
    digest: str | None = None
    #: it ran in PostgreSQL online mode (continue it the same way)
    online: bool = False

    @classmethod
    def of(
        cls, steps: Sequence[Step], done: int, *, backwards: bool, online: bool = False
    ) -> PartialRun:
        return cls(backwards, done, len(steps), statements_digest(steps[:done]), online)

    @classmethod
    def parse(cls, name: str, text: str) -> PartialRun:
        match = _FORMAT.match(text.strip())
        if match is None:
            raise MigrationError(
                f"the record of {name} says it stopped at {text!r}, not understood"
            )
        direction, done, total, digest, online = match.groups()
        return cls(direction == "downgrade", int(done), int(total), digest, bool(online))

    @property
    def direction(self) -> str:
        return "downgrade" if self.backwards else "upgrade"

    def describe(self) -> str:
        """``upgrade 2/5``: what ``showmigrations`` prints."""
        return f"{self.direction} {self.done}/{self.total}"

    def record(self) -> str:
        text = f"{self.describe()} {self.digest}" if self.digest else self.describe()
        return f"{text} online" if self.online else text

    def matches(self, steps: Sequence[Step]) -> bool:
        """Whether ``steps`` (the migration as it renders now) start with what ran."""
        if len(steps) != self.total:
            return False
        return self.digest is None or statements_digest(steps[: self.done]) == self.digest
