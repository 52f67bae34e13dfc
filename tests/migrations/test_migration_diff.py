"""The schema diff: operation order, foreign-key cycles, renames, enums, determinism."""

from __future__ import annotations

from dataclasses import replace

import pytest

from oxyde.migrations import (
    ColumnState,
    ForeignKeyState,
    IndexState,
    RenameCandidate,
    SchemaState,
    TableState,
    diff_schemas,
    parse_renames,
)
from oxyde.migrations.diff import schemas_equivalent
from oxyde.migrations.operations import (
    AddEnumValue,
    AddForeignKey,
    AlterColumn,
    AlterEnum,
    CreateEnum,
    CreateTable,
    DropColumn,
    DropForeignKey,
    DropIndex,
    Operation,
    RenameColumn,
    RenameTable,
)

ID = ColumnState("id", "int", primary_key=True, auto_increment=True)


def table(name: str, *columns: ColumnState, fks: tuple[ForeignKeyState, ...] = ()) -> TableState:
    t = TableState(name=name)
    for c in (ID, *columns):
        t.columns[c.name] = c.normalized()
    for fk in fks:
        t.foreign_keys[fk.name] = fk
    return t


def fk(source: str, column: str, target: str) -> ForeignKeyState:
    return ForeignKeyState(f"fk_{source}_{column}", column, target, "id")


def schema(*tables: TableState, enums: dict[str, tuple[str, ...]] | None = None) -> SchemaState:
    return SchemaState(tables={t.key: t for t in tables}, enums=dict(enums or {}))


def kinds(ops: list[Operation]) -> list[str]:
    return [type(op).__name__ for op in ops]


def applied(old: SchemaState, ops: list[Operation]) -> SchemaState:
    state = old.copy()
    for op in ops:
        op.apply(state)
    return state


def test_new_tables_come_parents_first_whatever_their_names() -> None:
    new = schema(
        table(
            "a_child",
            ColumnState("parent_id", "int"),
            fks=(fk("a_child", "parent_id", "z_parent"),),
        ),
        table("z_parent"),
    )
    ops = diff_schemas(SchemaState(), new).operations
    assert [op.table.name for op in ops if isinstance(op, CreateTable)] == ["z_parent", "a_child"]
    assert schemas_equivalent(applied(SchemaState(), ops), new)


def test_a_foreign_key_cycle_is_closed_after_both_tables_exist() -> None:
    new = schema(
        table("mg_a", ColumnState("b_id", "int", nullable=True), fks=(fk("mg_a", "b_id", "mg_b"),)),
        table("mg_b", ColumnState("a_id", "int", nullable=True), fks=(fk("mg_b", "a_id", "mg_a"),)),
    )
    ops = diff_schemas(SchemaState(), new).operations
    assert kinds(ops) == ["CreateTable", "CreateTable", "AddForeignKey"]
    assert ops[0].table.foreign_keys == {}  # type: ignore[attr-defined]
    assert isinstance(ops[2], AddForeignKey) and ops[2].table == "mg_a"
    assert schemas_equivalent(applied(SchemaState(), ops), new)

    # and dropping them both breaks the cycle first
    back = diff_schemas(new, SchemaState()).operations
    assert kinds(back) == ["DropForeignKey", "DropTable", "DropTable"]
    assert applied(new, back).tables == {}


def test_a_self_reference_stays_inside_create_table() -> None:
    new = schema(
        table(
            "mg_node",
            ColumnState("parent_id", "int", nullable=True),
            fks=(fk("mg_node", "parent_id", "mg_node"),),
        )
    )
    ops = diff_schemas(SchemaState(), new).operations
    assert kinds(ops) == ["CreateTable"]


def test_the_order_is_fixed_by_phase() -> None:
    old = schema(
        table("keep", ColumnState("gone", "str"), ColumnState("size", "int")),
        table("old_only"),
        enums={"e_enum": ("a", "b")},
    )
    old.tables["keep"].indexes["keep_gone_idx"] = IndexState("keep_gone_idx", ("gone",))
    new = schema(
        table(
            "keep",
            ColumnState("size", "int", nullable=True),
            ColumnState("added", "bool", nullable=True),
        ),
        table("new_only", ColumnState("k", "enum", enum="e_enum")),
        enums={"e_enum": ("a", "b", "c")},
    )
    ops = diff_schemas(old, new, decide=lambda c: False).operations
    assert kinds(ops) == [
        "AddEnumValue",
        "DropIndex",
        "CreateTable",
        "AlterColumn",
        "AddColumn",
        "DropColumn",
        "DropTable",
    ]
    assert schemas_equivalent(applied(old, ops), new)


def test_the_diff_is_deterministic() -> None:
    tables = [table(f"t{i}", ColumnState("v", "int")) for i in range(6)]
    forward = diff_schemas(SchemaState(), schema(*tables)).operations
    backward = diff_schemas(SchemaState(), schema(*reversed(tables))).operations
    assert [op.code() for op in forward] == [op.code() for op in backward]


def test_index_changes_are_seen_by_definition_not_name() -> None:
    old = schema(table("t", ColumnState("a", "int"), ColumnState("b", "int")))
    old.tables["t"].indexes["old_name"] = IndexState("old_name", ("a",))
    new = old.copy()
    new.tables["t"].indexes = {"new_name": IndexState("new_name", ("a",))}
    assert diff_schemas(old, new).operations == []
    new.tables["t"].indexes = {"new_name": IndexState("new_name", ("a",), where="a > 0")}
    assert kinds(diff_schemas(old, new).operations) == ["DropIndex", "CreateIndex"]


def test_column_changes_become_one_alter_each() -> None:
    old = schema(table("t", ColumnState("name", "str", max_length=50)))
    new = schema(table("t", ColumnState("name", "str", max_length=80, nullable=True, default="x")))
    (op,) = diff_schemas(old, new).operations
    assert isinstance(op, AlterColumn)
    assert op.changes == {"nullable": True, "max_length": 80, "default": "x"}


def test_enum_values_are_appended_in_place_or_the_type_is_replaced() -> None:
    old = schema(table("t", ColumnState("k", "enum", enum="e")), enums={"e": ("a", "c")})
    inserted = schema(table("t", ColumnState("k", "enum", enum="e")), enums={"e": ("a", "b", "c")})
    (op,) = diff_schemas(old, inserted).operations
    assert op == AddEnumValue("e", "b", "c")
    removed = schema(table("t", ColumnState("k", "enum", enum="e")), enums={"e": ("c",)})
    assert diff_schemas(old, removed).operations == [AlterEnum("e", ("c",))]
    dropped = schema(table("t", ColumnState("k", "str")))
    assert kinds(diff_schemas(old, dropped).operations) == ["AlterColumn", "DropEnum"]
    created = diff_schemas(SchemaState(), old).operations
    assert isinstance(created[0], CreateEnum)


class TestRenames:
    old = schema(table("people", ColumnState("name", "str"), ColumnState("age", "int")))

    def test_a_likely_column_rename_is_asked_and_left_undecided_by_default(self) -> None:
        new = schema(table("people", ColumnState("full_name", "str"), ColumnState("age", "int")))
        diff = diff_schemas(self.old, new)
        assert diff.undecided == [RenameCandidate("people", "name", "full_name", column=True)]
        assert kinds(diff.operations) == ["AddColumn", "DropColumn"]

        asked: list[RenameCandidate] = []
        diff = diff_schemas(self.old, new, decide=lambda c: asked.append(c) or True)
        assert asked[0].label() == "people.name -> people.full_name"
        assert diff.operations == [RenameColumn("people", "name", "full_name")]

    def test_a_rename_flag_confirms_it(self) -> None:
        new = schema(
            table(
                "people", ColumnState("full_name", "str", nullable=True), ColumnState("age", "int")
            )
        )
        renames = parse_renames(["people.name:full_name"])
        ops = diff_schemas(self.old, new, renames=renames).operations
        assert ops == [
            RenameColumn("people", "name", "full_name"),
            AlterColumn("people", "full_name", {"nullable": True}),
        ]

    def test_columns_of_another_type_are_no_candidates(self) -> None:
        new = schema(table("people", ColumnState("born", "date"), ColumnState("age", "int")))
        diff = diff_schemas(self.old, new)
        assert diff.undecided == []

    def test_a_table_rename_keeps_the_references_to_it(self) -> None:
        old = schema(
            self.old.tables["people"],
            table("pets", ColumnState("owner_id", "int"), fks=(fk("pets", "owner_id", "people"),)),
        )
        new = schema(
            replace(self.old.tables["people"].copy(), name="persons"),
            table("pets", ColumnState("owner_id", "int"), fks=(fk("pets", "owner_id", "persons"),)),
        )
        diff = diff_schemas(old, new, decide=lambda c: True)
        assert diff.operations == [RenameTable("people", "persons")]

    def test_an_unknown_rename_flag_is_an_error(self) -> None:
        with pytest.raises(ValueError, match="matches no table or column"):
            diff_schemas(self.old, self.old, renames={"people.nope": "x"})
        with pytest.raises(ValueError, match="expected OLD:NEW"):
            parse_renames(["people.name"])


def test_changing_the_primary_key_is_refused() -> None:
    old = schema(table("t", ColumnState("code", "str")))
    new = old.copy()
    new.tables["t"].columns["id"] = replace(new.tables["t"].columns["id"], primary_key=False)
    new.tables["t"].columns["code"] = replace(new.tables["t"].columns["code"], primary_key=True)
    with pytest.raises(ValueError, match="primary key"):
        diff_schemas(old, new)


def test_dropping_a_column_drops_what_uses_it_first() -> None:
    old = schema(
        table("p"),
        table("c", ColumnState("p_id", "int"), fks=(fk("c", "p_id", "p"),)),
    )
    old.tables["c"].indexes["c_p_idx"] = IndexState("c_p_idx", ("p_id",))
    new = schema(table("p"), table("c"))
    ops = diff_schemas(old, new).operations
    assert [type(op) for op in ops] == [DropForeignKey, DropIndex, DropColumn]
