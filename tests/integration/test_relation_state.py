"""A forward relation and its ``*_id`` field agree on an instance: change one and the
other follows (updated, or cleared to "not loaded"), before and after saving."""

from __future__ import annotations

from typing import Any

import pytest

from oxyde import RelationNotLoadedError
from tests.support.models import Author, Company, Post


@pytest.fixture
async def authors(model_tables: Any) -> tuple[Author, Author]:
    await model_tables(Company, Author, Post)
    first = await Author.objects.create(name="Ann", email="ann@example.com")
    second = await Author.objects.create(name="Bob", email="bob@example.com")
    return first, second


async def test_create_with_the_key_leaves_the_relation_unloaded(
    authors: tuple[Author, Author],
) -> None:
    ann, _ = authors
    post = await Post.objects.create(title="t", author_id=ann.id)
    dumped = post.model_dump()
    assert dumped["author_id"] == ann.id
    assert "author" not in dumped  # as on a row loaded without join(), not "author": None
    with pytest.raises(RelationNotLoadedError):
        _ = post.author
    loaded = await Post.objects.get(id=post.id)
    assert loaded.model_dump() == dumped


async def test_create_with_the_relation_sets_the_key(authors: tuple[Author, Author]) -> None:
    ann, _ = authors
    post = await Post.objects.create(title="t", author=ann)
    assert post.author_id == ann.id
    assert post.model_dump()["author"]["id"] == ann.id
    unsaved = Post(title="u", author=ann)
    assert unsaved.author_id == ann.id


async def test_changing_the_key_after_a_join_drops_the_old_relation(
    authors: tuple[Author, Author],
) -> None:
    ann, bob = authors
    await Post.objects.create(title="t", author=ann)
    post = await Post.objects.join("author").get(title="t")
    assert post.author is not None and post.author.name == "Ann"
    post.author_id = bob.id
    await post.save()
    assert "author" not in post.model_dump()
    with pytest.raises(RelationNotLoadedError):
        _ = post.author
    again = await Post.objects.join("author").get(id=post.id)
    assert again.author is not None and again.author.name == "Bob"
    # the same key keeps the loaded relation
    again.author_id = bob.id
    assert again.author is not None and again.author.name == "Bob"


async def test_setting_the_relation_updates_the_key(authors: tuple[Author, Author]) -> None:
    ann, bob = authors
    post = await Post.objects.create(title="t", author=ann)
    post.author = bob
    assert post.author_id == bob.id
    await post.save()
    assert (await Post.objects.join("author").get(id=post.id)).author.name == "Bob"  # type: ignore[union-attr]
    post.author = None
    assert post.author_id is None
    await post.save()
    assert (await Post.objects.get(id=post.id)).author_id is None
    post.author_id = ann.id  # from "no author" to one that is not loaded
    assert "author" not in post.model_dump()


async def test_disagreeing_relation_and_key_are_refused(authors: tuple[Author, Author]) -> None:
    ann, bob = authors
    with pytest.raises(ValueError, match=r"author_id=.* disagrees with author"):
        Post(title="t", author=ann, author_id=bob.id)


async def test_model_validate_agrees_too(authors: tuple[Author, Author]) -> None:
    ann, _ = authors
    post = Post.model_validate({"title": "t", "author_id": ann.id})
    assert "author" not in post.model_dump()
    created = await Post.objects.create(instance=post)
    assert created.author_id == ann.id
