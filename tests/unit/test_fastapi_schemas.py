"""``oxyde.fastapi`` schema helpers: which fields a request or response model has, and
what a request body refuses."""

from __future__ import annotations

import pydantic
import pytest

from oxyde.fastapi import input_schema, output_schema, paginate
from tests.support.models import Author, Post


def test_input_schema_has_no_key_and_no_relations() -> None:
    schema = input_schema(Post)
    assert schema.__name__ == "PostIn"
    assert set(schema.model_fields) == {
        "title", "views", "rating", "status", "published_at", "author_id"
    }  # fmt: skip
    with pytest.raises(pydantic.ValidationError) as info:
        schema.model_validate({"title": "t", "id": 3, "author": {"name": "x"}})
    assert {error["loc"][0] for error in info.value.errors()} == {"id", "author"}


def test_input_schema_keeps_constraints_and_defaults() -> None:
    schema = input_schema(Author, fields=["name", "email", "active"])
    assert schema.model_validate({"name": "a", "email": "e"}).model_dump() == {
        "name": "a", "email": "e", "active": True
    }  # fmt: skip
    with pytest.raises(pydantic.ValidationError):
        schema.model_validate({"name": "a" * 101, "email": "e"})


def test_output_schema_reads_instances() -> None:
    schema = output_schema(Author, exclude=["company_id"], name="AuthorPublic")
    assert schema.__name__ == "AuthorPublic"
    author = Author(id=4, name="Ann", email="a@b.c")
    assert schema.model_validate(author).model_dump() == {
        "id": 4, "name": "Ann", "email": "a@b.c", "age": None, "active": True
    }  # fmt: skip


def test_unknown_fields_are_named() -> None:
    with pytest.raises(ValueError, match=r"no field 'id', 'nope'.*valid: name, email"):
        input_schema(Author, fields=["id", "nope"])
    with pytest.raises(ValueError, match=r"no field 'company'"):
        output_schema(Author, exclude=["company"])


async def test_paginate_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match="limit"):
        await paginate(Author.objects, limit=0)
    with pytest.raises(ValueError, match="offset"):
        await paginate(Author.objects, offset=-1)
