"""Remembered ``filter(field=value)`` conditions: the resolution of lookup keys, per model.

Resolving ``filter(id=5)`` walks the key against the model, checks the lookup and the
value and builds the condition node, every call. For plain comparisons (``exact``,
``ne``, ``gt``, ``gte``, ``lt``, ``lte``) on the model's own columns, given values of
exactly the field's type, none of that depends on the values: the node refers to them
by position only. So the node the resolver built for one call is kept, and the next call
with the same keys and value types on a query in the same state reuses it and only
appends its values.

What is kept is learned from the resolver's own output, never rebuilt here, and only
when that output proves the rule holds: every value went into the statement unchanged
(no coercion, no related instance standing for its key, no ``None``, no expression, no
``in`` list or pattern), each condition is a comparison of a column with the value's
placeholder, and no join was added. Anything else takes the full path every time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, TypeVar

if TYPE_CHECKING:
    from oxyde.queries.query import Query

__all__ = ["clear", "filtered", "remembers"]

M = TypeVar("M")
Node = tuple[Any, ...]

#: entries kept before the memo starts over (keys come from code, not data)
MAX_ENTRIES: Final = 4096

# (ModelMeta, values already bound, keys..., value types...) -> the condition node
_memo: dict[tuple[Any, ...], Node] = {}


def filtered(query: Query[M], lookups: dict[str, Any], resolve: Callable[[], Query[M]]) -> Query[M]:
    """``query.filter(**lookups)`` on a query without joins or annotations: from the
    memo when the same keys and value types were resolved before, else ``resolve()``
    (the full path), remembering its condition when the rule above holds."""
    values = tuple(lookups.values())
    bound = query._values
    key = (query._meta, len(bound), *lookups, *map(type, values))
    cond = _memo.get(key)
    if cond is not None:
        q = query._clone()
        q._values = (*bound, *values)
        q._where = (*query._where, cond)
        return q
    q = resolve()
    learned = _condition_of(query, q, values)
    if learned is not None:
        if len(_memo) >= MAX_ENTRIES:
            _memo.clear()
        _memo[key] = learned
    return q


def _condition_of(before: Query[Any], after: Query[Any], values: tuple[Any, ...]) -> Node | None:
    """The one condition ``after`` added to ``before``, if it depends on the values'
    positions only."""
    first = len(before._values)
    added = after._values[first:]
    if (
        after._joins != before._joins
        or len(added) != len(values)
        or any(a is not v for a, v in zip(added, values, strict=True))
        or len(after._where) != len(before._where) + 1
    ):
        return None
    cond: Node = after._where[-1]
    if len(values) == 1:
        parts: tuple[Node, ...] = (cond,)
    elif cond[0] == "and" and len(cond[1]) == len(values):
        parts = cond[1]
    else:
        return None
    for i, part in enumerate(parts):
        if not (
            len(part) == 4
            and part[0] == "cmp"
            and part[2][0] == "col"
            and part[3][0] == "p"
            and part[3][2] == first + i
        ):
            return None
    return cond


def remembers(meta: Any, lookups: dict[str, Any], values: tuple[Any, ...]) -> bool:
    """Whether ``filter(**lookups)`` on a fresh query of ``meta``'s model is remembered
    (so its condition depends on the keys and the values' types only)."""
    return (meta, 0, *lookups, *map(type, values)) in _memo


def clear() -> None:
    _memo.clear()
