"""The blog's HTTP API: run it with ``uvicorn blog.main:app`` from ``examples/fastapi_app``
(``BLOG_DATABASE_URL`` picks the database; a SQLite file by default)."""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI, Query

from blog.models import Author, Post
from oxyde.fastapi import (
    Page,
    add_exception_handlers,
    input_schema,
    lifespan,
    output_schema,
    paginate,
)

# Request bodies never take a primary key or nested relations (a table model would
# accept both, and save() would write neither); responses carry keys, not relations.
AuthorIn = input_schema(Author)
AuthorOut = output_schema(Author)
PostIn = input_schema(Post)  # title, body, author_id
PostOut = output_schema(Post)


class PostDetail(PostOut):  # type: ignore[misc, valid-type]
    """A post with its author, loaded with join()."""

    author: AuthorOut | None = None  # type: ignore[valid-type]


def create_app(database_url: str) -> FastAPI:
    app = FastAPI(title="blog", lifespan=lifespan(default=database_url, create_tables=True))
    add_exception_handlers(app)

    @app.post("/authors", status_code=201, response_model=AuthorOut)
    async def create_author(body: AuthorIn) -> Any:  # type: ignore[valid-type]
        return await Author.objects.create(**body.model_dump())  # type: ignore[attr-defined]

    @app.get("/authors/{author_id}", response_model=AuthorOut)
    async def get_author(author_id: int) -> Any:
        return await Author.objects.get(id=author_id)  # a missing one is a 404

    @app.post("/posts", status_code=201, response_model=PostOut)
    async def create_post(body: PostIn) -> Any:  # type: ignore[valid-type]
        # an author_id that does not exist is a foreign key violation: 409
        return await Post.objects.create(**body.model_dump())  # type: ignore[attr-defined]

    @app.put("/posts/{post_id}", response_model=PostDetail)
    async def replace_post(post_id: int, body: PostIn) -> Any:  # type: ignore[valid-type]
        post = await Post.objects.join("author").get(id=post_id)
        for field, value in body.model_dump().items():  # type: ignore[attr-defined]
            setattr(post, field, value)  # a new author_id drops the joined author
        await post.save()
        return await Post.objects.join("author").get(id=post_id)

    @app.get("/posts/{post_id}", response_model=PostDetail)
    async def get_post(post_id: int) -> Any:
        return await Post.objects.join("author").get(id=post_id)

    @app.get("/posts", response_model=Page[PostOut])  # type: ignore[valid-type]
    async def list_posts(
        limit: int = Query(20, ge=1, le=100), offset: int = Query(0, ge=0)
    ) -> Page[Post]:
        return await paginate(Post.objects, limit=limit, offset=offset)

    return app


app = create_app(os.environ.get("BLOG_DATABASE_URL", "sqlite://blog.db"))
