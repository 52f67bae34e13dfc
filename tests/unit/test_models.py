"""Model definition: Field options, Meta options, the registry, Pydantic behaviour."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Annotated, Any

import pydantic
import pytest
from pydantic import AfterValidator, ConfigDict, PrivateAttr, field_validator, model_validator
from pydantic.fields import FieldInfo

from oxyde.meta.registry import get_meta
from oxyde.models import (
    Check,
    Field,
    Index,
    Model,
    OxydeFieldInfo,
    clear_registry,
    register_table,
    registered_tables,
    unregister_table,
)


@pytest.fixture(autouse=True)
def isolated_registry() -> Iterator[None]:
    """Each test starts from an empty registry; the models of other modules come back."""
    saved = list(registered_tables().values())
    clear_registry()
    yield
    clear_registry()
    for model in saved:
        register_table(model)


# -- Field --------------------------------------------------------------------------------


def test_field_is_a_pydantic_field_info_carrying_db_options() -> None:
    info = Field(default=3, ge=0, description="n", alias="num", db_index=True)
    assert isinstance(info, FieldInfo)
    assert isinstance(info, OxydeFieldInfo)
    assert info.default == 3
    assert info.description == "n"
    assert info.alias == "num"
    assert info.db.index is True


def test_pydantic_options_pass_through() -> None:
    class PtUser(Model):
        id: int | None = Field(default=None, db_pk=True)
        name: str = Field(max_length=5, alias="userName")
        age: int = Field(default=0, ge=0, le=150)

        class Meta:
            is_table = True

    user = PtUser(userName="ann", age=30)
    assert user.name == "ann"
    with pytest.raises(pydantic.ValidationError):
        PtUser(userName="far too long")
    with pytest.raises(pydantic.ValidationError):
        PtUser(userName="ok", age=-1)
    assert PtUser.model_json_schema()["properties"]["age"]["maximum"] == 150


def test_every_field_option_lands_in_column() -> None:
    class FoItem(Model):
        id: int | None = Field(default=None, db_pk=True, db_comment="key")
        code: str = Field(
            max_length=20,
            db_unique=True,
            db_column="item_code",
            db_comment="the code",
        )
        tags: dict[str, Any] = Field(
            default_factory=dict,
            db_type="JSONB",
            db_index=True,
            db_index_name="ix_tags",
            db_index_method="GIN",
        )
        created: str = Field(default="x", db_default="CURRENT_TIMESTAMP")
        note: str | None = Field(default=None, db_nullable=False)
        count: int = Field(default=0, db_nullable=True)

        class Meta:
            is_table = True

    cols = get_meta(FoItem).columns
    assert cols["id"].primary_key and cols["id"].auto_increment and not cols["id"].nullable
    assert cols["id"].comment == "key"
    code = cols["code"]
    assert (code.column, code.unique, code.max_length, code.comment) == (
        "item_code",
        True,
        20,
        "the code",
    )
    tags = cols["tags"]
    assert (tags.kind, tags.db_type, tags.index, tags.index_name, tags.index_method) == (
        "json",
        "JSONB",
        True,
        "ix_tags",
        "gin",
    )
    assert cols["created"].db_default == "CURRENT_TIMESTAMP"
    assert cols["created"].default == "x" and cols["created"].has_default
    assert cols["note"].nullable is False
    assert cols["count"].nullable is True
    assert get_meta(FoItem).field_by_column == {
        "id": "id",
        "item_code": "code",
        "tags": "tags",
        "created": "created",
        "note": "note",
        "count": "count",
    }


def test_python_defaults_reach_the_column_only_when_constant() -> None:
    class DfRow(Model):
        id: int | None = Field(default=None, db_pk=True)
        a: int = 5
        b: list[int] = Field(default_factory=list)
        c: str | None = None

        class Meta:
            is_table = True

    cols = get_meta(DfRow).columns
    assert (cols["a"].default, cols["a"].has_default) == (5, True)
    assert cols["b"].has_default is False
    assert cols["c"].has_default is False


def test_index_option_without_db_index_still_indexes() -> None:
    class IxRow(Model):
        id: int | None = Field(default=None, db_pk=True)
        email: str = Field(db_index_name="ix_email")

        class Meta:
            is_table = True

    assert get_meta(IxRow).columns["email"].index is True


def test_unknown_db_option_is_rejected() -> None:
    with pytest.raises(TypeError, match="db_uniqe"):
        Field(db_uniqe=True)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"db_on_delete": "EXPLODE"}, ValueError, "db_on_delete='EXPLODE'.*CASCADE"),
        ({"db_on_update": "nope"}, ValueError, "db_on_update='nope'"),
        ({"db_index_method": "brin"}, ValueError, "db_index_method='brin'.*btree"),
        ({"db_pk": "yes"}, TypeError, "db_pk must be True or False"),
        ({"db_column": ""}, TypeError, "db_column must be a non-empty string"),
    ],
)
def test_bad_field_options_name_model_and_field(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=f"BadOpt.value: {message}"):

        class BadOpt(Model):
            id: int | None = Field(default=None, db_pk=True)
            value: int = Field(default=0, **kwargs)

            class Meta:
                is_table = True


def test_fk_actions_are_normalised() -> None:
    class NaTarget(Model):
        id: int | None = Field(default=None, db_pk=True)

        class Meta:
            is_table = True

    class NaRef(Model):
        id: int | None = Field(default=None, db_pk=True)
        target: NaTarget | None = Field(db_on_delete="set null", db_on_update="no_action")

        class Meta:
            is_table = True

    fk = get_meta(NaRef).foreign_keys["target"]
    assert (fk.on_delete, fk.on_update) == ("SET NULL", "NO ACTION")


def test_m2m_needs_through_and_through_needs_m2m() -> None:
    with pytest.raises(ValueError, match=r"M2mBad.tags: db_m2m=True needs db_through"):

        class M2mBad(Model):
            tags: list[Any] = Field(db_m2m=True)

            class Meta:
                is_table = True

    with pytest.raises(ValueError, match=r"M2mBad2.tags: db_through is only valid"):

        class M2mBad2(Model):
            tags: list[Any] = Field(default_factory=list, db_through="X")

            class Meta:
                is_table = True


def test_relation_options_on_a_plain_field_are_rejected() -> None:
    with pytest.raises(TypeError, match=r"Plain.n: db_on_delete='CASCADE' only apply"):

        class Plain(Model):
            n: int = Field(default=0, db_on_delete="CASCADE")

            class Meta:
                is_table = True


def test_primary_key_is_not_nullable() -> None:
    with pytest.raises(ValueError, match=r"PkNull.id: a primary key cannot be db_nullable"):

        class PkNull(Model):
            id: int | None = Field(default=None, db_pk=True, db_nullable=True)

            class Meta:
                is_table = True


def test_two_primary_keys_are_rejected() -> None:
    with pytest.raises(TypeError, match="TwoPk: only one field can be db_pk"):

        class TwoPk(Model):
            a: int = Field(db_pk=True)
            b: int = Field(db_pk=True)

            class Meta:
                is_table = True


def test_two_fields_on_one_column_are_rejected() -> None:
    with pytest.raises(TypeError, match="SameCol: fields 'a' and 'b' both use column 'x'"):

        class SameCol(Model):
            a: int = Field(default=0, db_column="x")
            b: int = Field(default=0, db_column="x")

            class Meta:
                is_table = True


def test_model_without_primary_key_has_no_pk() -> None:
    class NoPk(Model):
        name: str

        class Meta:
            is_table = True

    assert get_meta(NoPk).pk is None


# -- Meta ---------------------------------------------------------------------------------


def test_meta_defaults() -> None:
    class BlogPost(Model):
        id: int | None = Field(default=None, db_pk=True)

        class Meta:
            is_table = True

    meta = get_meta(BlogPost)
    assert meta.table_name == "blogpost"
    assert BlogPost.get_table_name() == "blogpost"
    assert (meta.schema, meta.comment, meta.ordering) == (None, None, ())
    assert meta.indexes == [] and meta.constraints == [] and meta.unique_together == []
    assert meta.pk is not None and meta.pk.name == "id"
    assert meta.model is BlogPost


def test_meta_options_are_parsed() -> None:
    class MoOrg(Model):
        id: int | None = Field(default=None, db_pk=True)

        class Meta:
            is_table = True

    class MoMember(Model):
        id: int | None = Field(default=None, db_pk=True)
        org: MoOrg | None = None
        slug: str = Field(max_length=50)
        rank: int = 0

        class Meta:
            is_table = True
            table_name = "members"
            schema = "app"
            comment = "people"
            # Lists, as users write them.
            indexes = [
                Index(("org", "rank"), unique=True, where="rank > 0", name="ix_m"),
                Index(["slug"], method="HASH"),
            ]
            constraints = (Check("rank >= 0", name="rank_nonneg"), Check("slug <> ''"))
            unique_together = [("org", "slug")]
            ordering = ("-rank", "slug", "org", "-pk")

    meta = get_meta(MoMember)
    assert (meta.table_name, meta.schema, meta.comment) == ("members", "app", "people")
    assert meta.indexes == [
        Index(("org_id", "rank"), unique=True, where="rank > 0", name="ix_m"),
        Index(("slug",), method="hash"),
    ]
    assert meta.constraints == [Check("rank >= 0", name="rank_nonneg"), Check("slug <> ''")]
    assert meta.unique_together == [("org_id", "slug")]
    assert meta.ordering == ("-rank", "slug", "org_id", "-id")
    assert MoMember.get_table_name() == "members"


def test_flat_unique_together_is_one_constraint() -> None:
    class FlatUt(Model):
        a: int
        b: int

        class Meta:
            is_table = True
            unique_together = ("a", "b")

    assert get_meta(FlatUt).unique_together == [("a", "b")]


def test_unknown_meta_key_is_an_error() -> None:
    with pytest.raises(TypeError, match=r"Typo.Meta has unknown option\(s\) 'tabel_name'"):

        class Typo(Model):
            id: int | None = Field(default=None, db_pk=True)

            class Meta:
                is_table = True
                tabel_name = "typo"


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("ordering", ("-missing",), r"BadMeta.Meta.ordering refers to unknown field '-missing'"),
        ("indexes", [Index(("nope",))], r"BadMeta.Meta.indexes refers to unknown field 'nope'"),
        ("unique_together", [("id", "x")], r"unique_together refers to unknown field 'x'"),
        ("indexes", ["name"], r"BadMeta.Meta.indexes must hold Index"),
        ("constraints", ["a > 0"], r"BadMeta.Meta.constraints must hold Check"),
        ("is_table", 1, r"BadMeta.Meta.is_table must be True or False"),
    ],
)
def test_bad_meta_values_are_errors(option: str, value: Any, message: str) -> None:
    meta = type("Meta", (), {"is_table": True, option: value})
    with pytest.raises(TypeError, match=message):
        type(Model)(
            "BadMeta",
            (Model,),
            {
                "__module__": __name__,
                "__qualname__": "BadMeta",
                "__annotations__": {"id": "int | None"},
                "id": Field(default=None, db_pk=True),
                "Meta": meta,
            },
        )


def test_meta_can_inherit_from_a_base_meta() -> None:
    class Base(Model):
        class Meta:
            ordering = ("-id",)

    class Child(Base):
        id: int | None = Field(default=None, db_pk=True)

        class Meta(Base.Meta):
            is_table = True

    assert get_meta(Child).ordering == ("-id",)


def test_index_and_check_validation() -> None:
    with pytest.raises(ValueError, match="at least one field"):
        Index(())
    with pytest.raises(ValueError, match="method='brin'"):
        Index(("a",), method="brin")
    assert Index("email").fields == ("email",)
    with pytest.raises(TypeError, match="SQL expression"):
        Check("")
    index = Index(["a", "b"], unique=True)
    assert index.fields == ("a", "b") and index.unique
    with pytest.raises(AttributeError):
        index.unique = False  # type: ignore[misc]


# -- tables, mixins, registry ---------------------------------------------------------------


def test_non_table_models_are_mixins() -> None:
    class Timestamped(Model):
        created: str = Field(default="now", db_default="CURRENT_TIMESTAMP")

    class Article(Timestamped):
        id: int | None = Field(default=None, db_pk=True)
        title: str = ""

        class Meta:
            is_table = True

    assert list(get_meta(Article).columns) == ["created", "id", "title"]
    assert get_meta(Article).columns["created"].db_default == "CURRENT_TIMESTAMP"
    assert not hasattr(Timestamped, "_db_meta")
    with pytest.raises(TypeError, match="Timestamped is not a table model"):
        get_meta(Timestamped)
    with pytest.raises(TypeError, match="not a table model"):
        Timestamped.get_table_name()
    assert list(registered_tables().values()) == [Article]


def test_a_table_can_subclass_a_table() -> None:
    class Animal(Model):
        id: int | None = Field(default=None, db_pk=True)
        name: str = ""

        class Meta:
            is_table = True

    class Dog(Animal):
        breed: str = ""

        class Meta:
            is_table = True

    assert list(get_meta(Dog).columns) == ["id", "name", "breed"]
    assert get_meta(Dog).table_name == "dog"
    assert get_meta(Animal).table_name == "animal"


def test_db_meta_attribute_is_the_model_meta() -> None:
    class DmRow(Model):
        id: int | None = Field(default=None, db_pk=True)

        class Meta:
            is_table = True

    assert DmRow._db_meta is get_meta(DmRow)


def test_registry_keys_order_and_unregister() -> None:
    class RgFirst(Model):
        id: int | None = Field(default=None, db_pk=True)

        class Meta:
            is_table = True

    class RgSecond(Model):
        id: int | None = Field(default=None, db_pk=True)

        class Meta:
            is_table = True

    tables = registered_tables()
    prefix = f"{__name__}.test_registry_keys_order_and_unregister.<locals>."
    assert list(tables) == [prefix + "RgFirst", prefix + "RgSecond"]
    unregister_table(RgFirst)
    assert list(registered_tables().values()) == [RgSecond]
    register_table(RgFirst)
    assert list(registered_tables().values()) == [RgSecond, RgFirst]
    clear_registry()
    assert registered_tables() == {}


def test_redefining_a_model_replaces_it() -> None:
    made = []
    for _ in range(2):

        class Redefined(Model):
            id: int | None = Field(default=None, db_pk=True)

            class Meta:
                is_table = True

        made.append(Redefined)
    assert list(registered_tables().values()) == [made[1]]


def test_two_models_may_share_a_table_name() -> None:
    class OneTable(Model):
        id: int | None = Field(default=None, db_pk=True)

        class Meta:
            is_table = True
            table_name = "shared"

    class OtherTable(Model):
        id: int | None = Field(default=None, db_pk=True)
        extra: str = ""

        class Meta:
            is_table = True
            table_name = "shared"

    assert list(registered_tables().values()) == [OneTable, OtherTable]
    assert get_meta(OneTable).table_name == get_meta(OtherTable).table_name == "shared"


def test_register_table_overwrite() -> None:
    class Kept(Model):
        id: int | None = Field(default=None, db_pk=True)

        class Meta:
            is_table = True

    first = Kept
    register_table(first)  # the same class again: nothing to do
    register_table(first, overwrite=True)

    class Kept(Model):  # type: ignore[no-redef]
        id: int | None = Field(default=None, db_pk=True)

        class Meta:
            is_table = True

    assert list(registered_tables().values()) == [Kept]
    with pytest.raises(ValueError, match=r"already registered; pass overwrite=True"):
        register_table(first)
    assert list(registered_tables().values()) == [Kept]
    register_table(first, overwrite=True)
    assert list(registered_tables().values()) == [first]


def test_register_table_rejects_non_tables() -> None:
    class NotATable(Model):
        x: int = 0

    with pytest.raises(TypeError, match="not a table model"):
        register_table(NotATable)


def test_every_model_gets_its_own_manager() -> None:
    from oxyde.queries.manager import QueryManager

    class MgBase(Model):
        id: int | None = Field(default=None, db_pk=True)

        class Meta:
            is_table = True

    class MgChild(MgBase):
        class Meta:
            is_table = True

    class MgMixin(Model):
        x: int = 0

    for model in (MgBase, MgChild, MgMixin):
        assert isinstance(model.objects, QueryManager)
        assert model.objects.model is model
    assert MgBase.objects is MgBase.objects


# -- Pydantic behaviour -------------------------------------------------------------------


def test_models_validate_like_pydantic() -> None:
    class PvUser(Model):
        id: int | None = Field(default=None, db_pk=True)
        email: str
        age: int | None = None

        class Meta:
            is_table = True

    user = PvUser(email="a@b.c", age="41", unknown="ignored")  # type: ignore[call-arg]
    assert user.age == 41
    assert user.model_fields_set == {"email", "age"}
    assert not hasattr(user, "unknown")
    assert user.model_dump() == {"id": None, "email": "a@b.c", "age": 41}
    with pytest.raises(pydantic.ValidationError):
        PvUser(age=1)  # type: ignore[call-arg]
    same = PvUser.model_validate({"email": "a@b.c"})
    assert same.model_fields_set == {"email"}


async def test_hooks_are_awaitable_no_ops() -> None:
    class HkRow(Model):
        id: int | None = Field(default=None, db_pk=True)

        class Meta:
            is_table = True

    row = HkRow()
    assert await row.pre_save(is_create=True) is None
    assert await row.post_save(is_create=False, update_fields={"id"}) is None
    assert await row.pre_delete() is None
    assert await row.post_delete() is None
    for name in ("save", "delete", "refresh"):
        assert inspect.iscoroutinefunction(getattr(HkRow, name))
    assert list(inspect.signature(HkRow.save).parameters) == [
        "self",
        "update_fields",
        "using",
        "client",
    ]


# -- needs_validation ---------------------------------------------------------------------


def _needs_validation(namespace: dict[str, Any], base: type[Model] = Model) -> bool:
    namespace = {
        "__module__": __name__,
        "__qualname__": "NvRow",
        "__annotations__": {"id": "int | None", **namespace.pop("__annotations__", {})},
        "id": Field(default=None, db_pk=True),
        "Meta": type("Meta", (), {"is_table": True}),
        **namespace,
    }
    model = type(Model)("NvRow", (base,), namespace)
    return get_meta(model).needs_validation  # type: ignore[arg-type]


def test_plain_models_need_no_validation() -> None:
    assert _needs_validation({"__annotations__": {"name": "str"}}) is False


def test_private_attributes_need_no_validation() -> None:
    assert _needs_validation({"_cache": PrivateAttr(default_factory=dict)}) is False


def _upper(value: str) -> str:
    return value.upper()


@pytest.mark.parametrize(
    "namespace",
    [
        pytest.param(
            {
                "__annotations__": {"name": "str"},
                "check": field_validator("name")(lambda cls, v: v),
            },
            id="field_validator",
        ),
        pytest.param(
            {"check": model_validator(mode="after")(lambda self: self)}, id="model_validator"
        ),
        pytest.param({"model_post_init": lambda self, ctx: None}, id="model_post_init"),
        pytest.param({"model_config": ConfigDict(extra="allow")}, id="extra_allow"),
        pytest.param({"model_config": ConfigDict(extra="forbid")}, id="extra_forbid"),
        pytest.param({"model_config": ConfigDict(str_strip_whitespace=True)}, id="strip"),
        pytest.param({"model_config": ConfigDict(use_enum_values=True)}, id="enum_values"),
        pytest.param(
            {"__annotations__": {"name": Annotated[str, AfterValidator(_upper)]}},
            id="annotated_validator",
        ),
        pytest.param(
            {
                "__annotations__": {
                    "name": Annotated[str, pydantic.StringConstraints(to_lower=True)]
                }
            },
            id="to_lower",
        ),
    ],
)
def test_models_that_transform_values_need_validation(namespace: dict[str, Any]) -> None:
    assert _needs_validation(namespace) is True


def test_needs_validation_is_inherited_from_a_mixin() -> None:
    class Validated(Model):
        name: str = ""

        @field_validator("name")
        @classmethod
        def _strip(cls, value: str) -> str:
            return value.strip()

    assert _needs_validation({}, base=Validated) is True
