"""A tour of oxyde on a throwaway SQLite file: models, queries, updates, transactions.

Run it with `make demo` (or `python examples/demo.py` where oxyde is installed).
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import oxyde
from oxyde import F, Field, Model, Q, atomic, create_tables, db


class Author(Model):
    id: int | None = Field(default=None, db_pk=True)
    name: str = Field(max_length=100)
    email: str = Field(db_unique=True, max_length=255)
    age: int | None = None

    class Meta:
        is_table = True
        table_name = "authors"


class Post(Model):
    id: int | None = Field(default=None, db_pk=True)
    title: str = Field(max_length=200)
    views: int = 0
    author: Author | None = Field(default=None, db_on_delete="CASCADE")

    class Meta:
        is_table = True
        table_name = "posts"


def show(label: str, value: object) -> None:
    print(f"  {label:<44} {value}")


async def tour(url: str) -> None:
    print(f"oxyde {oxyde.__version__} (speedups: {oxyde.__impl__}) on {url}")
    await db.init(default=url)
    try:
        await create_tables(await db.get_connection("default"))

        print("\ncreate / bulk_create")
        alice = await Author.objects.create(name="Alice", email="alice@example.com", age=34)
        bob = await Author.objects.create(name="Bob", email="bob@example.com", age=17)
        await Author.objects.bulk_create(
            [
                Author(name="Carol", email="carol@example.com", age=52),
                Author(name="Dmitri", email="dmitri@example.com", age=None),
            ]
        )
        await Post.objects.bulk_create(
            [
                Post(title="Async ORMs", views=120, author_id=alice.id),
                Post(title="Cython in pure-Python mode", views=40, author_id=alice.id),
                Post(title="My first post", views=0, author_id=bob.id),
            ]
        )
        show("authors:", await Author.objects.count())
        show("posts:", await Post.objects.count())

        print("\nqueries")
        adults = await Author.objects.filter(age__gte=18).order_by("name").all()
        show("filter(age__gte=18):", [a.name for a in adults])
        with_li = await Author.objects.filter(name__icontains="LI").all()
        show("filter(name__icontains='LI'):", [a.name for a in with_li])
        either = await Author.objects.filter(Q(age__lt=18) | Q(name__startswith="C")).all()
        show("Q(age__lt=18) | Q(name__startswith='C'):", sorted(a.name for a in either))
        known_age = await Author.objects.exclude(age__isnull=True).order_by("-age").all()
        show("exclude(age__isnull=True), by -age:", [a.name for a in known_age])
        rows = await Author.objects.order_by("name").values("name", "age").all()
        show("values('name', 'age'):", rows)
        popular = await Post.objects.filter(views__gt=10).join("author").order_by("-views").all()
        show(
            "posts with views > 10, joined:",
            [(p.title, p.author.name if p.author else None) for p in popular],
        )

        print("\nupdate with F / delete")
        changed = await Post.objects.filter(author_id=alice.id).update(views=F("views") + 1)
        show("Alice's posts, views + 1 (rows):", changed)
        views = await Post.objects.filter(author_id=alice.id).order_by("id").values("views").all()
        show("their views now:", [row["views"] for row in views])
        deleted = await Post.objects.filter(views=0).delete()
        show("deleted posts with no views (rows):", deleted)

        print("\ntransactions")
        show("authors before:", await Author.objects.count())
        async with atomic():
            await Author.objects.create(name="Erin", email="erin@example.com", age=29)
        show("after a block that commits:", await Author.objects.count())
        try:
            async with atomic():
                await Author.objects.create(name="Frank", email="frank@example.com", age=41)
                show("inside a block that will fail:", await Author.objects.count())
                raise RuntimeError("change of plan")
        except RuntimeError:
            pass
        show("after it rolled back:", await Author.objects.count())
    finally:
        await db.close()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="oxyde-demo-") as tmp:
        asyncio.run(tour(f"sqlite://{Path(tmp) / 'demo.db'}"))
    print("\ndone")


if __name__ == "__main__":
    main()
