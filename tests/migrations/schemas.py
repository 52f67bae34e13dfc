"""Model versions the migration tests evolve: each function defines fresh classes."""

from __future__ import annotations

import enum
from typing import Any

from oxyde import Check, Field, Index, Model


class MgState(enum.StrEnum):
    draft = "draft"
    published = "published"


class MgStateV2(enum.StrEnum):
    # the same enum (name and values) with a value added
    draft = "draft"
    published = "published"
    archived = "archived"


MgStateV2.__name__ = "MgState"


def v1() -> list[type[Any]]:
    class MgAuthor(Model):
        id: int | None = Field(default=None, db_pk=True)
        name: str = Field(max_length=100)

        class Meta:
            is_table = True
            table_name = "mg_author"

    class MgPost(Model):
        id: int | None = Field(default=None, db_pk=True)
        title: str = Field(max_length=100)
        body: str | None = Field(default=None, max_length=50)
        views: int = 0
        legacy: str | None = Field(default=None, max_length=20)
        state: MgState = MgState.draft

        class Meta:
            is_table = True
            table_name = "mg_post"

    return [MgAuthor, MgPost]


def v2() -> list[type[Any]]:
    class MgAuthor(Model):
        id: int | None = Field(default=None, db_pk=True)
        name: str = Field(max_length=100)

        class Meta:
            is_table = True
            table_name = "mg_author"

    class MgPost(Model):
        id: int | None = Field(default=None, db_pk=True)
        # renamed from title
        headline: str = Field(max_length=100)
        # altered: longer
        body: str | None = Field(default=None, max_length=200)
        views: int = 0
        # added
        rating: int | None = None
        state: MgStateV2 = MgStateV2.draft
        # added foreign key
        author: MgAuthor | None = Field(default=None, db_on_delete="SET NULL")

        class Meta:
            is_table = True
            table_name = "mg_post"
            indexes = [Index(("views",), name="mg_post_views_idx")]
            constraints = [Check("views >= 0", name="mg_post_views_nonneg")]

    return [MgAuthor, MgPost]
