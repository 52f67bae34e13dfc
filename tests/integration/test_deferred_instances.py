"""Loaded instances behave the same whatever is done to them first.

Compiled, a loaded row becomes an instance that builds its ``__dict__`` on first use
(``rowload``'s deferred instances); pure Python builds it at once. Every way a user can
first touch an instance (a field read, ``__dict__``, a dump, equality, copy, pickle, an
assignment, a delete, ``object.__setattr__``, the fields set, a relation) must leave it
in the state a validated instance of the same row has, on every backend. The reference
is ``model_validate`` of the same values, read back with ``values()``.
"""

from __future__ import annotations

import copy
import gc
import pickle
import weakref
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from oxyde import Field, Model, RelationNotLoadedError, _impl, create_tables, drop_tables
from tests.support.models import Author, Company, Everything, Post, Status


class DfWriter(Model):
    id: int | None = Field(default=None, db_pk=True)
    name: str = Field(max_length=50)
    notes: list[DfNote] = Field(db_reverse_fk="writer")

    class Meta:
        is_table = True
        table_name = "df_writer"


class DfNote(Model):
    id: int | None = Field(default=None, db_pk=True)
    body: str = Field(max_length=50)
    rank: int = 0
    writer: DfWriter | None = Field(default=None, db_on_delete="CASCADE")

    class Meta:
        is_table = True
        table_name = "df_note"


@pytest.fixture
async def tables(database: Any) -> AsyncIterator[Any]:
    await drop_tables(database)
    await create_tables(database)
    company = await Company.objects.create(name="acme", country="FR")
    author = await Author.objects.create(name="ann", email="ann@x", age=41, company=company)
    await Post.objects.bulk_create(
        [
            Post(title=f"t{i}", views=i, rating=i / 2, status=Status.DRAFT, author=author)
            for i in range(6)
        ]
    )
    await Everything.objects.create(i=7, f=1.5, b=True, s="x", raw=b"\x00\x01", tags=["a"])
    writer = await DfWriter.objects.create(name="w")
    notes = [DfNote(body=f"n{i}", rank=i, writer=writer) for i in range(6)]
    await DfNote.objects.bulk_create(notes)
    yield database
    await drop_tables(database)


def _state(instance: Any) -> tuple[Any, ...]:
    """What a user can observe of an instance, read after the first use."""
    return (
        instance.model_dump(),
        instance.model_dump_json(),
        set(instance.model_fields_set),
        dict(instance.__dict__),
        repr(instance),
    )


def _first_uses() -> dict[str, Callable[[Any], Any]]:
    def read_field(p: Any) -> Any:
        return p.title

    def read_dict(p: Any) -> Any:
        return p.__dict__["views"]

    def fields_set(p: Any) -> Any:
        return p.model_fields_set

    def compare(p: Any) -> Any:
        return p == copy.copy(p)

    def assign(p: Any) -> Any:
        p.views = p.views

    def raw_setattr(p: Any) -> Any:
        # stored in the instance dict directly, around Pydantic
        object.__setattr__(p, "rating", p.rating)

    def deep(p: Any) -> Any:
        return copy.deepcopy(p)

    def pickled(p: Any) -> Any:
        return pickle.loads(pickle.dumps(p))

    def extra(p: Any) -> Any:
        return p.model_extra

    def missing(p: Any) -> Any:
        return getattr(p, "no_such_field", None)

    def relation(p: Any) -> Any:
        with pytest.raises(RelationNotLoadedError):
            _ = p.author

    return {
        "read_field": read_field,
        "read_dict": read_dict,
        "vars": vars,
        "model_dump": lambda p: p.model_dump(),
        "dump_json": lambda p: p.model_dump_json(),
        "fields_set": fields_set,
        "compare": compare,
        "repr": repr,
        "iterate": lambda p: dict(p),
        "copy": copy.copy,
        "deepcopy": deep,
        "pickle": pickled,
        "model_copy": lambda p: p.model_copy(update={"views": 99}),
        "assign": assign,
        "raw_setattr": raw_setattr,
        "extra": extra,
        "missing_attribute": missing,
        "relation": relation,
    }


FIRST_USES = _first_uses()


@pytest.mark.parametrize("first_use", sorted(FIRST_USES))
async def test_any_first_use_leaves_the_instance_as_validated(tables: Any, first_use: str) -> None:
    rows = await Post.objects.order_by("id").values().all()
    expected = [_state(Post.model_validate(row)) for row in rows]
    loaded = await Post.objects.order_by("id").all()
    result = FIRST_USES[first_use](loaded[2])
    if first_use in ("copy", "deepcopy", "pickle"):
        assert _state(result) == expected[2]
    if first_use == "model_copy":
        assert result.views == 99 and loaded[2].views == 2
    # the fields set of a loaded row names what the row held: every stored column
    assert [_state(p) for p in loaded] == [
        (dump, js, set(Post._db_meta.columns), data, text) for dump, js, _, data, text in expected
    ]


async def test_a_delete_then_reads_on_a_fresh_instance(tables: Any) -> None:
    (post,) = await Post.objects.filter(views=3).all()
    del post.rating
    assert "rating" not in post.__dict__
    assert post.title == "t3" and post.views == 3
    with pytest.raises(AttributeError):
        _ = post.rating


async def test_raw_setattr_before_any_read_keeps_the_new_value(tables: Any) -> None:
    posts = await Post.objects.order_by("id").all()
    object.__setattr__(posts[0], "title", "changed")
    object.__setattr__(posts[1], "unrelated", 1)  # a non-field, as a test double might
    assert posts[0].title == "changed" and posts[0].views == 0
    assert posts[1].unrelated == 1 and posts[1].title == "t1"
    assert posts[0].model_dump()["title"] == "changed"


async def test_every_type_reads_back_the_same_whichever_way_first(tables: Any) -> None:
    (validated,) = [Everything.model_validate(r) for r in await Everything.objects.values().all()]
    for first in ("attribute", "dump", "dict"):
        (item,) = await Everything.objects.all()
        if first == "attribute":
            assert item.raw == b"\x00\x01" and item.tags == ["a"]
        elif first == "dump":
            assert item.model_dump() == validated.model_dump()
        else:
            assert item.__dict__ == validated.__dict__
        assert item == validated


async def test_joined_and_prefetched_relations_of_untouched_instances(tables: Any) -> None:
    posts = await Post.objects.join("author__company").order_by("id").all()
    # the relation first, then the fields of the instance that holds it
    assert posts[0].author.company.country == "FR"
    assert posts[0].author.name == "ann" and posts[0].title == "t0"
    assert "author" in posts[1].model_fields_set
    assert posts[1].model_dump()["author"]["company"]["name"] == "acme"
    (writer,) = await DfWriter.objects.prefetch("notes").all()
    assert [n.rank for n in writer.notes] == list(range(6))
    assert writer.name == "w" and "notes" in writer.model_fields_set
    again = pickle.loads(pickle.dumps(writer))
    assert again == writer and again.notes[5].body == "n5"
    assert writer.notes[0].writer_id == writer.id


async def test_saving_an_untouched_loaded_instance_writes_its_values(tables: Any) -> None:
    (post,) = await Post.objects.filter(views=4).all()
    await post.save()
    (same,) = await Post.objects.filter(views=4).values().all()
    assert same["title"] == "t4" and same["rating"] == 2.0
    (other,) = await Post.objects.filter(views=5).all()
    other.title = "renamed"
    await other.save(update_fields=["title"])
    assert (await Post.objects.get(views=5)).title == "renamed"


async def test_a_loaded_row_holds_no_dict_until_used(tables: Any) -> None:
    """What makes a large result about half the memory per row: compiled, an instance
    refers to its row until first use, then to its dict (and no longer to the row)."""
    if not _impl.rowload.deferred_descriptors():
        pytest.skip("the pure-Python loader builds each instance whole")
    (post,) = await Post.objects.filter(views=1).all()
    held = gc.get_referents(post)
    assert not any(type(r) is dict for r in held)
    assert any(type(r) is tuple and "t1" in r for r in held)
    assert post.title == "t1"
    held = gc.get_referents(post)
    assert any(type(r) is dict and r.get("title") == "t1" for r in held)
    assert not any(type(r) is tuple and "t1" in r for r in held)


async def test_an_unread_instance_is_off_the_collectors_list_until_used(tables: Any) -> None:
    """Full collections need not visit a large result nobody has read: compiled, an
    instance whose row holds only plain values is untracked until something could make
    it part of a cycle (settling, a relation stored into it, a new ``__dict__``)."""
    if not _impl.rowload.deferred_descriptors():
        pytest.skip("the pure-Python loader builds each instance whole")
    notes = await DfNote.objects.order_by("id").all()
    assert not any(gc.is_tracked(n) for n in notes)
    assert notes[0].body == "n0" and gc.is_tracked(notes[0])
    assert notes[1].model_dump()["rank"] == 1 and gc.is_tracked(notes[1])
    notes[2].__dict__ = dict(notes[3].__dict__)
    assert gc.is_tracked(notes[2]) and notes[2].body == "n3"
    assert not gc.is_tracked(notes[4])
    joined = await DfNote.objects.join("writer").order_by("id").all()
    assert all(gc.is_tracked(n) for n in joined)  # each holds its writer now
    (writer,) = await DfWriter.objects.prefetch("notes").all()
    assert gc.is_tracked(writer)
    # a row holding a value the collector tracks (an enum member) keeps it tracked
    (post,) = await Post.objects.filter(views=2).all()
    assert gc.is_tracked(post)


async def test_cycles_through_loaded_instances_are_collected(tables: Any) -> None:
    (writer,) = await DfWriter.objects.prefetch("notes").all()
    notes = await DfNote.objects.order_by("id").all()
    note, untouched = notes[0], notes[1]
    note.writer = writer  # writer -> its notes list; this note -> writer -> ...
    writer.notes.append(note)
    gone = [weakref.ref(writer), weakref.ref(note), weakref.ref(writer.notes[0])]
    del writer, note, notes
    gc.collect()
    assert [ref() for ref in gone] == [None, None, None]
    assert untouched.body == "n1"


async def test_unread_instances_insert_again_whole(tables: Any) -> None:
    """``bulk_create`` reads an instance nobody has read yet (compiled: still deferred)
    like any other: every field of every row goes back in, and RETURNING fills it."""
    columns = ("id", "body", "rank", "writer_id")
    rows = [tuple(r) for r in await DfNote.objects.order_by("id").values_list(*columns).all()]
    loaded = await DfNote.objects.order_by("id").all()
    await DfNote.objects.filter(id__gte=0).delete()
    assert await DfNote.objects.count() == 0
    again = await DfNote.objects.bulk_create(loaded)
    back = [tuple(r) for r in await DfNote.objects.order_by("id").values_list(*columns).all()]
    assert back == rows
    assert [(n.id, n.body, n.rank, n.writer_id) for n in again] == rows
