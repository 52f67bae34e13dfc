"""A forward relation and its key field agree on an instance: setting one updates or
clears the other.

``post.author = author`` sets ``post.author_id`` to the author's key; ``post.author_id
= 2`` drops a loaded ``post.author`` that is not row 2 (reading it then raises
``RelationNotLoadedError``, as on a row loaded without ``join()``); ``Post(author_id=1)``
leaves ``author`` unloaded rather than ``None``. Only models with forward relations get
these hooks (``install``), so other models keep Pydantic's own ``__setattr__`` and no
``model_post_init``; rows loaded from the database never run them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pydantic

__all__ = ["install"]

_base_setattr = pydantic.BaseModel.__setattr__


def _target_field(model: type, relation: str) -> str:
    meta = model._db_meta  # type: ignore[attr-defined]
    return str(meta.foreign_keys[relation].target_field)


def _unset(instance: Any, name: str) -> None:
    instance.__dict__.pop(name, None)
    instance.__pydantic_fields_set__.discard(name)


def _links(model: type) -> dict[str, tuple[bool, str]]:
    """field name -> (is the relation, the other field of the pair)."""
    links: dict[str, tuple[bool, str]] | None = model.__dict__.get("__oxyde_links__")
    if links is None:
        links = {}
        for spec in model.__oxyde_state__.forward.values():  # type: ignore[attr-defined]
            links[spec.name] = (True, spec.field_name)
            links[spec.field_name] = (False, spec.name)
        type.__setattr__(model, "__oxyde_links__", links)
    return links


def _follow(instance: Any, name: str, value: Any, relation: bool, other: str) -> None:
    model = type(instance)
    data = instance.__dict__
    if relation:
        if value is None:
            data[other] = None
            instance.__pydantic_fields_set__.add(other)
        elif isinstance(value, pydantic.BaseModel):
            key = getattr(value, _target_field(model, name), None)
            # an unsaved target has no key yet: the insert takes it once it has one
            if key is not None or data.get(other) is not None:
                data[other] = key
                instance.__pydantic_fields_set__.add(other)
        return
    related = data.get(other, _MISSING)
    if related is _MISSING:
        return
    if related is None:
        if value is not None:
            _unset(instance, other)
    elif value is None or getattr(related, _target_field(model, other), None) != value:
        _unset(instance, other)


_MISSING: Any = object()


def _setattr(self: Any, name: str, value: Any) -> None:
    _base_setattr(self, name, value)
    link = _links(type(self)).get(name)
    if link is not None:
        _follow(self, name, value, *link)


def _post_init(self: Any, context: Any, /) -> None:
    user = _post_init_of(type(self))
    if user is not None:
        user(self, context)
    data = self.__dict__
    for name, (relation, key_field) in _links(type(self)).items():
        if not relation:
            continue
        related = data.get(name, _MISSING)
        if related is None:
            if data.get(key_field) is not None:
                # Post(author_id=1): the author is not loaded, not "no author"
                _unset(self, name)
        elif related is not _MISSING and isinstance(related, pydantic.BaseModel):
            key = getattr(related, _target_field(type(self), name), None)
            given = data.get(key_field)
            if key is not None and given is not None and given != key:
                raise ValueError(
                    f"{type(self).__name__}: {key_field}={given!r} disagrees with "
                    f"{name} (whose key is {key!r}); give one of them"
                )
            if key is not None:
                data[key_field] = key
                self.__pydantic_fields_set__.add(key_field)


def _post_init_of(model: type) -> Callable[[Any, Any], None] | None:
    """The user's own ``model_post_init`` that ours wraps, if any."""
    for klass in model.__mro__:
        found = klass.__dict__.get("__oxyde_user_post_init__")
        if found is not None:
            return found  # type: ignore[no-any-return]
    return None


def install(namespace: dict[str, Any]) -> None:
    """Add the hooks to the namespace of a class with forward relations."""
    user = namespace.get("model_post_init")
    if user is not None and not getattr(user, "__oxyde_relations__", False):
        namespace["__oxyde_user_post_init__"] = user
    namespace["model_post_init"] = _post_init
    namespace.setdefault("__setattr__", _setattr)


_post_init.__oxyde_relations__ = True  # type: ignore[attr-defined]
