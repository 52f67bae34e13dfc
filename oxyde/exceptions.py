"""The exception hierarchy every layer raises and every backend maps driver errors onto."""

from __future__ import annotations

__all__ = [
    "CheckViolationError",
    "ConnectionLostError",
    "DataError",
    "FieldError",
    "FieldLookupError",
    "FieldLookupValueError",
    "ForeignKeyViolationError",
    "IntegrityError",
    "ManagerError",
    "MultipleObjectsReturned",
    "NotFoundError",
    "NotNullViolationError",
    "OperationalError",
    "OxydeError",
    "ProgrammingError",
    "RelationNotLoadedError",
    "TransactionTimeoutError",
    "UniqueViolationError",
]


class OxydeError(Exception):
    """Base of every error oxyde raises on purpose.

    Errors that come from the database keep the backend's code: ``sqlstate`` for
    PostgreSQL, the extended result code for SQLite, the errno for MySQL, in ``code``.
    The driver's exception stays available as ``__cause__``.
    """

    def __init__(self, message: str = "", *, code: str | int | None = None) -> None:
        super().__init__(message)
        self.code = code

    @property
    def sqlstate(self) -> str | None:
        return self.code if isinstance(self.code, str) else None


class FieldError(OxydeError):
    """An unknown field name (filter key, update field, order_by, values...)."""


class FieldLookupError(OxydeError):
    """An unknown lookup, or a path that cannot be traversed."""


class FieldLookupValueError(FieldLookupError):
    """A value that the lookup cannot take (``in`` with a string, ``gte=None``...)."""


class ManagerError(OxydeError):
    """A query or manager operation that cannot be carried out."""


class NotFoundError(ManagerError):
    """``get()`` (or an update of a saved instance) matched no row."""


class MultipleObjectsReturned(ManagerError):
    """``get()`` matched more than one row."""


class IntegrityError(ManagerError):
    """The database refused a write because of a constraint."""


class UniqueViolationError(IntegrityError):
    pass


class ForeignKeyViolationError(IntegrityError):
    pass


class NotNullViolationError(IntegrityError):
    pass


class CheckViolationError(IntegrityError):
    pass


class RelationNotLoadedError(OxydeError):
    """A relation field was read on an instance whose query did not load it.

    Reading a relation never runs a query: a forward foreign key is loaded by
    ``join()``, a reverse or many-to-many relation by ``prefetch()``.
    """

    def __init__(self, model: str, relation: str, *, forward: bool) -> None:
        loader = "join" if forward else "prefetch"
        super().__init__(
            f"{model}.{relation} is not loaded, and reading a relation never runs a query: "
            f"load it with {model}.objects.{loader}({relation!r})"
            + (" (or a prefetch() path that ends in it)" if forward else "")
        )
        self.model = model
        self.relation = relation
        self.forward = forward

    def __reduce__(self) -> tuple[object, ...]:
        return (_relation_not_loaded, (self.model, self.relation, self.forward))


def _relation_not_loaded(model: str, relation: str, forward: bool) -> RelationNotLoadedError:
    return RelationNotLoadedError(model, relation, forward=forward)


class OperationalError(OxydeError):
    """The database or the pool failed: connection refused or lost, pool timeout,
    database closed, interrupted statement, any error that is not about the data."""


class ConnectionLostError(OperationalError):
    """The connection died under the call: the server ended the session (killed,
    shut down, restarted), the network failed, or the connection was closed
    underneath its user. The connection has been discarded and the pool replaces it.

    What the interrupted statement did is unknown: a write or a COMMIT may or may not
    have taken effect. Inside ``atomic()`` the transaction is gone (rolled back by the
    server); retry it as a whole on a new one.
    """


class DataError(OperationalError):
    """A value the column cannot hold: an integer or decimal out of its range, NaN where
    the backend cannot store it, a JSON number it would change. Raised before anything is
    written when oxyde can tell (``code`` is None then), else mapped from the database's
    data errors (SQLSTATE class 22, MySQL's out-of-range and bad-value errnos). A subclass
    of ``OperationalError``, which such database errors were before."""


class ProgrammingError(OxydeError):
    """The database rejected the statement itself: a syntax error, an unknown table or
    column, a value of the wrong type, a misused API. Retrying will not help."""


class TransactionTimeoutError(TimeoutError):
    """An ``atomic(timeout=...)`` block ran out of time; it has been rolled back.

    It is a ``TimeoutError`` and not an ``OxydeError``, as in the public Oxyde API.
    """
