"""Models and data shared by the aggregation, expression and union tests (``agg_*``)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from oxyde import Field, Model


class AggAuthor(Model):
    id: int | None = Field(default=None, db_pk=True)
    name: str = Field(max_length=50, db_unique=True)
    nickname: str | None = Field(default=None, max_length=50)
    age: int | None = None
    posts: list[AggPost] = Field(db_reverse_fk="author")

    class Meta:
        is_table = True
        table_name = "agg_author"
        ordering = ("name",)


class AggTag(Model):
    id: int | None = Field(default=None, db_pk=True)
    label: str = Field(max_length=50)
    weight: int = 1

    class Meta:
        is_table = True
        table_name = "agg_tag"


class AggPost(Model):
    id: int | None = Field(default=None, db_pk=True)
    title: str = Field(max_length=100)
    views: int = 0
    likes: int = 0
    rating: float = 0.0
    price: Decimal = Field(default=Decimal("0"), max_digits=10, decimal_places=2)
    published: dt.datetime | None = None
    author: AggAuthor | None = Field(default=None, db_on_delete="CASCADE")
    tags: list[AggTag] = Field(db_m2m=True, db_through="AggPostTag")
    comments: list[AggComment] = Field(db_reverse_fk="post")

    class Meta:
        is_table = True
        table_name = "agg_post"


class AggComment(Model):
    id: int | None = Field(default=None, db_pk=True)
    likes: int = 0
    post: AggPost = Field(db_on_delete="CASCADE")

    class Meta:
        is_table = True
        table_name = "agg_comment"


class AggPostTag(Model):
    id: int | None = Field(default=None, db_pk=True)
    post: AggPost = Field(db_on_delete="CASCADE")
    tag: AggTag = Field(db_on_delete="CASCADE")

    class Meta:
        is_table = True
        table_name = "agg_post_tag"


MODELS = (AggAuthor, AggTag, AggPost, AggComment, AggPostTag)


async def load_data(model_tables: Any) -> dict[str, Any]:
    """Ann: 3 posts, Bob: 1 post, Cid: none; one post has no author.

    post  author views likes rating price  tags       comments (likes)
    a1    Ann    10    4     4.5    10.50  red, blue  2 (1, 3)
    a2    Ann    3     3     2.0    1.25   red        1 (5)
    a3    Ann    7     9     3.0    2.00   -          0
    b1    Bob    5     1     1.0    4.00   blue       1 (0)
    orph  -      0     0     0.0    0.00   -          0
    """
    await model_tables(*MODELS)
    ann = await AggAuthor.objects.create(name="Ann", age=30)
    bob = await AggAuthor.objects.create(name="Bob", nickname="bobby", age=20)
    cid = await AggAuthor.objects.create(name="Cid")
    posts = {}
    for title, author, views, likes, rating, price, day in (
        ("a1", ann, 10, 4, 4.5, "10.50", 1),
        ("a2", ann, 3, 3, 2.0, "1.25", 2),
        ("a3", ann, 7, 9, 3.0, "2.00", 3),
        ("b1", bob, 5, 1, 1.0, "4.00", 4),
        ("orph", None, 0, 0, 0.0, "0.00", 5),
    ):
        posts[title] = await AggPost.objects.create(
            title=title,
            author=author,
            views=views,
            likes=likes,
            rating=rating,
            price=Decimal(price),
            published=dt.datetime(2024, 1, day, 12, 30),
        )
    red = await AggTag.objects.create(label="red", weight=2)
    blue = await AggTag.objects.create(label="blue", weight=5)
    await AggTag.objects.create(label="unused")
    for post, tag in (("a1", red), ("a1", blue), ("a2", red), ("b1", blue)):
        await AggPostTag.objects.create(post=posts[post], tag=tag)
    for post, likes in (("a1", 1), ("a1", 3), ("a2", 5), ("b1", 0)):
        await AggComment.objects.create(post=posts[post], likes=likes)
    return {"ann": ann, "bob": bob, "cid": cid, "posts": posts, "red": red, "blue": blue}


class Statements(logging.Handler):
    """Every statement oxyde runs, from the ``oxyde.sql`` logger."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.sql: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.sql.append(record.getMessage().split(": ", 1)[1])


def capture_statements() -> Iterator[Statements]:
    logger = logging.getLogger("oxyde.sql")
    handler = Statements()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
