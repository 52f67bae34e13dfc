"""Relations: forward FKs and their key fields, self and mutual references, reverse, M2M."""

from __future__ import annotations

import sys
import textwrap
import types
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any

import pydantic
import pytest

from oxyde.meta.metadata import COMMON_LOOKUPS, ORDERED_LOOKUPS
from oxyde.meta.registry import (
    assert_no_pending_models,
    finalize_pending,
    get_meta,
    pending_models,
)
from oxyde.models import Field, Model, clear_registry, register_table, registered_tables


@pytest.fixture(autouse=True)
def isolated_registry() -> Iterator[None]:
    saved = list(registered_tables().values())
    clear_registry()
    yield
    clear_registry()
    for model in saved:
        register_table(model)


def make_module(name: str, source: str) -> types.ModuleType:
    """Run ``source`` as the module ``name``, like an import of a models file."""
    module = types.ModuleType(name)
    sys.modules[name] = module
    try:
        exec(textwrap.dedent(source), module.__dict__)
    except BaseException:
        del sys.modules[name]
        raise
    return module


@pytest.fixture
def module_name(request: pytest.FixtureRequest) -> Iterator[str]:
    name = f"oxyde_test_models_{request.node.name.replace('[', '_').replace(']', '')}"
    yield name
    sys.modules.pop(name, None)


# -- forward FKs ------------------------------------------------------------------------------


def test_fk_adds_a_typed_key_field() -> None:
    class Writer(Model):
        id: int | None = Field(default=None, db_pk=True)
        name: str = ""

        class Meta:
            is_table = True

    class Book(Model):
        id: int | None = Field(default=None, db_pk=True)
        title: str = ""
        writer: Writer | None = Field(default=None, db_on_delete="CASCADE")

        class Meta:
            is_table = True

    assert list(Book.model_fields) == ["id", "title", "writer", "writer_id"]
    key = Book.model_fields["writer_id"]
    assert key.annotation == int | None and key.default is None
    assert Book(writer_id="7").writer_id == 7  # type: ignore[call-arg]
    with pytest.raises(pydantic.ValidationError):
        Book(writer_id="seven")  # type: ignore[call-arg]
    book = Book(title="t")
    assert book.writer is None and book.writer_id is None  # type: ignore[attr-defined]
    assert book.model_fields_set == {"title"}

    meta = get_meta(Book)
    assert list(meta.columns) == ["id", "title", "writer_id"]
    assert "writer" in meta.virtual and "writer" not in meta.columns
    fk = meta.foreign_keys["writer"]
    assert (fk.name, fk.field_name, fk.column, fk.target, fk.target_field) == (
        "writer",
        "writer_id",
        "writer_id",
        Writer,
        "id",
    )
    assert (fk.on_delete, fk.on_update, fk.nullable) == ("CASCADE", "CASCADE", True)
    col = meta.columns["writer_id"]
    assert (col.kind, col.python_type, col.nullable, col.fk) == ("int", int, True, fk)
    assert col.lookups == COMMON_LOOKUPS + ORDERED_LOOKUPS
    assert not col.primary_key and not col.auto_increment


def test_fk_key_follows_the_target_key_type() -> None:
    class Tenant(Model):
        id: uuid.UUID = Field(default_factory=uuid.uuid4, db_pk=True)

        class Meta:
            is_table = True

    class Site(Model):
        id: int | None = Field(default=None, db_pk=True)
        tenant: Tenant = Field(db_on_delete="RESTRICT")

        class Meta:
            is_table = True

    assert Site.model_fields["tenant_id"].annotation == uuid.UUID | None
    col = get_meta(Site).columns["tenant_id"]
    assert (col.kind, col.python_type, col.nullable) == ("uuid", uuid.UUID, False)
    value = uuid.uuid4()
    assert Site(tenant_id=str(value)).tenant_id == value  # type: ignore[call-arg]


def test_fk_db_column_names_the_column() -> None:
    class Owner(Model):
        id: int | None = Field(default=None, db_pk=True)

        class Meta:
            is_table = True

    class Pet(Model):
        id: int | None = Field(default=None, db_pk=True)
        owner: Owner | None = Field(default=None, db_column="owner_ref", db_index=True)

        class Meta:
            is_table = True

    meta = get_meta(Pet)
    assert meta.columns["owner_id"].column == "owner_ref"
    assert meta.columns["owner_id"].index is True
    assert meta.foreign_keys["owner"].column == "owner_ref"
    assert meta.field_by_column["owner_ref"] == "owner_id"


def test_fk_to_a_unique_non_key_field() -> None:
    class Account(Model):
        id: int | None = Field(default=None, db_pk=True)
        code: str = Field(max_length=12, db_unique=True)

        class Meta:
            is_table = True

    class Invoice(Model):
        id: int | None = Field(default=None, db_pk=True)
        account: Account | None = Field(default=None, db_fk="code", db_unique=True)

        class Meta:
            is_table = True

    assert "account_code" in Invoice.model_fields
    assert Invoice.model_fields["account_code"].annotation == str | None
    meta = get_meta(Invoice)
    col = meta.columns["account_code"]
    assert (col.kind, col.max_length, col.unique) == ("str", 12, True)
    assert meta.foreign_keys["account"].target_field == "code"


def test_fk_to_a_non_unique_or_missing_field_is_rejected() -> None:
    class Ledger(Model):
        id: int | None = Field(default=None, db_pk=True)
        label: str = ""

        class Meta:
            is_table = True

    with pytest.raises(TypeError, match=r"Entry.ledger: db_fk='label' must name the primary"):

        class Entry(Model):
            ledger: Ledger | None = Field(default=None, db_fk="label")

            class Meta:
                is_table = True

    with pytest.raises(TypeError, match=r"Entry2.ledger: db_fk='nope' is not a field of Ledger"):

        class Entry2(Model):
            ledger: Ledger | None = Field(default=None, db_fk="nope")

            class Meta:
                is_table = True


def test_fk_to_a_model_without_primary_key_needs_db_fk() -> None:
    class Keyless(Model):
        name: str = ""

        class Meta:
            is_table = True

    with pytest.raises(TypeError, match="Keyless has no primary key"):

        class RefKeyless(Model):
            keyless: Keyless | None = None

            class Meta:
                is_table = True


def test_fk_nullability_follows_the_relation_annotation() -> None:
    class Parent(Model):
        id: int | None = Field(default=None, db_pk=True)

        class Meta:
            is_table = True

    class Child(Model):
        id: int | None = Field(default=None, db_pk=True)
        required: Parent = Field(db_on_delete="CASCADE")
        optional: Parent | None = None
        forced: Parent | None = Field(default=None, db_nullable=False)

        class Meta:
            is_table = True

    meta = get_meta(Child)
    assert meta.columns["required_id"].nullable is False
    assert meta.foreign_keys["required"].nullable is False
    assert meta.columns["optional_id"].nullable is True
    assert meta.columns["forced_id"].nullable is False
    # The relation field itself never makes the model hard to build.
    assert Child().required is None


def test_set_null_needs_a_nullable_key() -> None:
    class Target(Model):
        id: int | None = Field(default=None, db_pk=True)

        class Meta:
            is_table = True

    with pytest.raises(ValueError, match=r"SetNull.target: db_on_delete='SET NULL' needs"):

        class SetNull(Model):
            target: Target = Field(db_on_delete="SET NULL")

            class Meta:
                is_table = True


def test_relation_options_in_annotated() -> None:
    class Shelf(Model):
        id: int | None = Field(default=None, db_pk=True)

        class Meta:
            is_table = True

    class Item(Model):
        id: int | None = Field(default=None, db_pk=True)
        shelf: Annotated[Shelf | None, Field(db_on_delete="CASCADE")] = None

        class Meta:
            is_table = True

    assert get_meta(Item).foreign_keys["shelf"].on_delete == "CASCADE"


def test_declared_key_field_is_used_as_the_key() -> None:
    class Team(Model):
        id: int | None = Field(default=None, db_pk=True)

        class Meta:
            is_table = True

    class Player(Model):
        id: int | None = Field(default=None, db_pk=True)
        team_id: int | None = Field(default=None, db_column="team")
        team: Team | None = None

        class Meta:
            is_table = True

    assert list(Player.model_fields) == ["id", "team_id", "team"]
    meta = get_meta(Player)
    assert meta.columns["team_id"].column == "team"
    assert meta.columns["team_id"].fk is meta.foreign_keys["team"]


def test_fk_inherited_from_a_mixin() -> None:
    class Person(Model):
        id: int | None = Field(default=None, db_pk=True)

        class Meta:
            is_table = True

    class Owned(Model):
        owner: Person | None = Field(default=None, db_on_delete="CASCADE")

    class Doc(Owned):
        id: int | None = Field(default=None, db_pk=True)

        class Meta:
            is_table = True

    meta = get_meta(Doc)
    assert meta.foreign_keys["owner"].target is Person
    assert meta.columns["owner_id"].python_type is int


def test_non_table_targets_are_not_relations() -> None:
    class Dto(Model):
        x: int = 0

    with pytest.raises(TypeError, match=r"Holder.dto: Dto has no column type"):

        class Holder(Model):
            dto: Dto | None = None

            class Meta:
                is_table = True


def test_fk_to_a_non_table_name_defined_later_is_rejected(module_name: str) -> None:
    module = make_module(
        module_name,
        """
        from __future__ import annotations
        from oxyde.models import Field, Model

        class Later(Model):
            id: int | None = Field(default=None, db_pk=True)
            other: NotATable | None = None

            class Meta:
                is_table = True

        class NotATable(Model):
            x: int = 0
        """,
    )
    with pytest.raises(TypeError, match=r"Later: 'NotATable' is .* not a table model"):
        get_meta(module.Later)
    assert module.Later not in registered_tables().values()


# -- self and mutual references ---------------------------------------------------------------


def test_self_reference() -> None:
    class Category(Model):
        id: int | None = Field(default=None, db_pk=True)
        name: str = ""
        parent: Category | None = Field(default=None, db_on_delete="SET NULL")

        class Meta:
            is_table = True

    assert Category.model_fields["parent_id"].annotation == int | None
    fk = get_meta(Category).foreign_keys["parent"]
    assert fk.target is Category and fk.on_delete == "SET NULL"
    child = Category(name="c", parent_id="1", parent={"id": 1, "parent_id": "2"})  # type: ignore[call-arg]
    assert child.parent_id == 1  # type: ignore[attr-defined]
    assert child.parent is not None and child.parent.parent_id == 2  # type: ignore[attr-defined]


def test_mutual_references_in_a_function() -> None:
    class Husband(Model):
        id: int | None = Field(default=None, db_pk=True)
        wife: Wife | None = None

        class Meta:
            is_table = True

    assert "Husband" in " ".join(pending_models())
    with pytest.raises(TypeError, match=r"Husband cannot be used yet: .*'Wife'"):
        get_meta(Husband)

    class Wife(Model):
        id: uuid.UUID = Field(default_factory=uuid.uuid4, db_pk=True)
        husband: Husband | None = None

        class Meta:
            is_table = True

    assert pending_models() == {}
    assert get_meta(Husband).foreign_keys["wife"].target is Wife
    assert get_meta(Wife).foreign_keys["husband"].target is Husband
    assert Husband.model_fields["wife_id"].annotation == uuid.UUID | None
    assert Wife.model_fields["husband_id"].annotation == int | None
    value = uuid.uuid4()
    wife = {"id": str(value), "husband_id": "3"}
    husband = Husband(wife_id=str(value), wife=wife)  # type: ignore[call-arg]
    assert husband.wife_id == value  # type: ignore[attr-defined]
    assert husband.wife is not None and husband.wife.husband_id == 3  # type: ignore[attr-defined]


def test_mutual_references_at_module_level(module_name: str) -> None:
    module = make_module(
        module_name,
        """
        from __future__ import annotations
        from oxyde.models import Field, Model

        class Post(Model):
            id: int | None = Field(default=None, db_pk=True)
            author: Author | None = Field(default=None, db_on_delete="CASCADE")
            tags: list[Tag] = Field(db_m2m=True, db_through="PostTag")

            class Meta:
                is_table = True

        class Author(Model):
            id: int | None = Field(default=None, db_pk=True)
            posts: list[Post] = Field(db_reverse_fk="author")
            best: Post | None = None

            class Meta:
                is_table = True

        class Tag(Model):
            id: int | None = Field(default=None, db_pk=True)
            posts: list[Post] = Field(db_m2m=True, db_through="PostTag")

            class Meta:
                is_table = True

        class PostTag(Model):
            id: int | None = Field(default=None, db_pk=True)
            post: Post = Field(db_on_delete="CASCADE")
            tag: Tag = Field(db_on_delete="CASCADE")

            class Meta:
                is_table = True
        """,
    )
    assert_no_pending_models()
    post, author, tag, post_tag = module.Post, module.Author, module.Tag, module.PostTag
    assert list(registered_tables().values()) == [post, author, tag, post_tag]
    assert get_meta(post).foreign_keys["author"].target is author
    assert get_meta(author).foreign_keys["best"].target is post

    reverse = get_meta(author).reverse["posts"]
    assert (reverse.target, reverse.fk_name, reverse.many_to_many) == (post, "author", False)
    assert "posts" in get_meta(author).virtual and "posts" not in get_meta(author).columns

    m2m = get_meta(post).reverse["tags"]
    assert (m2m.target, m2m.through, m2m.through_source, m2m.through_target) == (
        tag,
        post_tag,
        "post",
        "tag",
    )
    assert m2m.many_to_many is True
    back = get_meta(tag).reverse["posts"]
    assert (back.through_source, back.through_target) == ("tag", "post")

    instance = post(author_id="4")
    assert instance.tags == [] and instance.author_id == 4
    assert instance.model_dump()["tags"] == []


def test_forward_reference_across_scopes_resolves_through_the_registry() -> None:
    def define_target() -> type[Model]:
        class FarTarget(Model):
            id: int | None = Field(default=None, db_pk=True)

            class Meta:
                is_table = True

        return FarTarget

    def define_ref() -> type[Model]:
        class FarRef(Model):
            id: int | None = Field(default=None, db_pk=True)
            target: FarTarget | None = None  # type: ignore[name-defined]  # noqa: F821

            class Meta:
                is_table = True

        return FarRef

    ref = define_ref()
    target = define_target()
    assert get_meta(ref).foreign_keys["target"].target is target
    assert ref(target_id="2").target_id == 2  # type: ignore[attr-defined]


def test_undefined_reference_stays_pending_and_is_reported() -> None:
    class Orphan(Model):
        id: int | None = Field(default=None, db_pk=True)
        ghost: Ghost | None = None  # type: ignore[name-defined]

        class Meta:
            is_table = True

    finalize_pending()
    with pytest.raises(TypeError, match=r"Orphan: Orphan.ghost refers to 'Ghost'"):
        assert_no_pending_models()
    assert Orphan in registered_tables().values()

    class Ghost(Model):
        id: int | None = Field(default=None, db_pk=True)

        class Meta:
            is_table = True

    assert_no_pending_models()
    assert get_meta(Orphan).foreign_keys["ghost"].target is Ghost


def test_bad_field_of_a_pending_model_fails_at_its_definition() -> None:
    with pytest.raises(TypeError, match=r"Waiting.tags: set\[str\] has no column type"):

        class Waiting(Model):
            id: int | None = Field(default=None, db_pk=True)
            later: NotYetDefined | None = None  # type: ignore[name-defined]  # noqa: F821
            tags: set[str] = Field(default_factory=set)

            class Meta:
                is_table = True

    assert pending_models() == {}


# -- reverse and many-to-many -----------------------------------------------------------------


def test_reverse_fk_metadata_and_default() -> None:
    class Blog(Model):
        id: int | None = Field(default=None, db_pk=True)
        entries: list[Entry] = Field(db_reverse_fk="blog")

        class Meta:
            is_table = True

    class Entry(Model):
        id: int | None = Field(default=None, db_pk=True)
        blog: Blog | None = None

        class Meta:
            is_table = True

    rel = get_meta(Blog).reverse["entries"]
    assert (rel.name, rel.target, rel.fk_name, rel.many_to_many) == (
        "entries",
        Entry,
        "blog",
        False,
    )
    assert Blog().entries == []
    assert Blog().entries is not Blog().entries
    assert list(get_meta(Blog).columns) == ["id"]


def test_reverse_fk_accepts_the_key_field_name() -> None:
    class Club(Model):
        id: int | None = Field(default=None, db_pk=True)
        members: list[Member] = Field(db_reverse_fk="club_id")

        class Meta:
            is_table = True

    class Member(Model):
        id: int | None = Field(default=None, db_pk=True)
        club: Club | None = None

        class Meta:
            is_table = True

    assert get_meta(Club).reverse["members"].fk_name == "club"


def test_reverse_fk_errors() -> None:
    class Street(Model):
        id: int | None = Field(default=None, db_pk=True)

        class Meta:
            is_table = True

    class House(Model):
        id: int | None = Field(default=None, db_pk=True)
        street: Street | None = None

        class Meta:
            is_table = True

    with pytest.raises(TypeError, match=r"Town.houses: House has no foreign key 'town'"):

        class Town(Model):
            id: int | None = Field(default=None, db_pk=True)
            houses: list[House] = Field(db_reverse_fk="town")

            class Meta:
                is_table = True

    with pytest.raises(TypeError, match=r"Town2.houses: House.street points to Street"):

        class Town2(Model):
            id: int | None = Field(default=None, db_pk=True)
            houses: list[House] = Field(db_reverse_fk="street")

            class Meta:
                is_table = True

    with pytest.raises(TypeError, match=r"Town3.houses: a db_reverse_fk field must be annotated"):

        class Town3(Model):
            houses: House | None = Field(default=None, db_reverse_fk="street")

            class Meta:
                is_table = True


def test_reverse_options_cannot_carry_column_options() -> None:
    with pytest.raises(ValueError, match=r"Rv.items: db_reverse_fk fields have no column"):

        class Rv(Model):
            items: list[Any] = Field(db_reverse_fk="rv", db_index=True)

            class Meta:
                is_table = True


def test_self_many_to_many() -> None:
    class Person(Model):
        id: int | None = Field(default=None, db_pk=True)
        friends: list[Person] = Field(db_m2m=True, db_through="Friendship")

        class Meta:
            is_table = True

    class Friendship(Model):
        id: int | None = Field(default=None, db_pk=True)
        from_person: Person = Field(db_on_delete="CASCADE")
        to_person: Person = Field(db_on_delete="CASCADE")

        class Meta:
            is_table = True
            unique_together = (("from_person", "to_person"),)

    rel = get_meta(Person).reverse["friends"]
    assert (rel.target, rel.through, rel.through_source, rel.through_target) == (
        Person,
        Friendship,
        "from_person",
        "to_person",
    )
    assert get_meta(Friendship).unique_together == [("from_person_id", "to_person_id")]


def test_m2m_through_model_must_link_both_sides() -> None:
    class Left(Model):
        id: int | None = Field(default=None, db_pk=True)

        class Meta:
            is_table = True

    class Right(Model):
        id: int | None = Field(default=None, db_pk=True)

        class Meta:
            is_table = True

    class Link(Model):
        id: int | None = Field(default=None, db_pk=True)
        left: Left | None = None

        class Meta:
            is_table = True

    with pytest.raises(TypeError, match=r"Both.rights: through model Link needs exactly one"):

        class Both(Model):
            id: int | None = Field(default=None, db_pk=True)
            rights: list[Right] = Field(db_m2m=True, db_through=Link)

            class Meta:
                is_table = True


def test_a_module_run_without_registering_it_resolves_its_names(module_name: str) -> None:
    # importlib's module_from_spec + exec_module (or exec of a file) leaves the module out
    # of sys.modules: ``datetime`` must still be the class, not a model named "datetime".
    module = types.ModuleType(module_name)
    source = f"""
        from __future__ import annotations
        from datetime import datetime
        from oxyde import Field, Model

        class Owner(Model):
            id: int | None = Field(default=None, db_pk=True)
            seen: datetime | None = None

            class Meta:
                is_table = True
                table_name = "{module_name}_owner"

        class Pet(Model):
            id: int | None = Field(default=None, db_pk=True)
            owner: Owner | None = Field(default=None, db_on_delete="CASCADE")

            class Meta:
                is_table = True
                table_name = "{module_name}_pet"

        Owner.model_rebuild()
        Pet.model_rebuild()
    """
    exec(textwrap.dedent(source), module.__dict__)
    assert module_name not in sys.modules
    owner, pet = module.Owner, module.Pet
    assert list(owner.model_fields) == ["id", "seen"]
    assert list(pet.model_fields) == ["id", "owner", "owner_id"]
    when = datetime(2024, 1, 2, 3, 4)
    assert owner(seen=when.isoformat()).seen == when
    assert pet(owner_id=3).owner_id == 3
