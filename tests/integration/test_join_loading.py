"""join() on large results and on models Pydantic must validate: every row gets its
related instance (one per related row, shared by the rows that refer to it), the
relation counts as set, and results past one load slice come back whole and in order."""

from __future__ import annotations

from typing import Any

from pydantic import field_validator

from oxyde import Field, Model
from oxyde import _slicing as slices


class JlTeam(Model):
    id: int | None = Field(default=None, db_pk=True)
    name: str = Field(max_length=50)

    class Meta:
        is_table = True
        table_name = "jl_team"


class JlMember(Model):
    """Validated on load (a field validator), so it is loaded through model_validate."""

    id: int | None = Field(default=None, db_pk=True)
    handle: str = Field(max_length=50)
    team: JlTeam | None = Field(default=None, db_on_delete="SET NULL")

    @field_validator("handle")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()

    class Meta:
        is_table = True
        table_name = "jl_member"


class JlTask(Model):
    id: int | None = Field(default=None, db_pk=True)
    title: str = Field(max_length=50)
    owner: JlMember | None = Field(default=None, db_on_delete="SET NULL")

    class Meta:
        is_table = True
        table_name = "jl_task"


async def test_nested_join_through_a_validated_model(model_tables: Any) -> None:
    await model_tables(JlTeam, JlMember, JlTask)
    red = await JlTeam.objects.create(name="red")
    ann = await JlMember.objects.create(handle="ANN", team=red)
    solo = await JlMember.objects.create(handle="Solo")
    await JlTask.objects.bulk_create(
        [
            JlTask(title="a", owner_id=ann.id),
            JlTask(title="b", owner_id=solo.id),
            JlTask(title="c"),
        ]
    )
    tasks = await JlTask.objects.join("owner__team").order_by("title").all()
    a, b, c = tasks
    assert a.owner is not None and a.owner.handle == "ann" and a.owner.team.name == "red"
    assert b.owner is not None and b.owner.handle == "solo" and b.owner.team is None
    assert c.owner is None
    assert "owner" in a.model_fields_set and "team" in a.owner.model_fields_set
    assert a.model_dump(exclude_unset=True)["owner"]["team"] == {"id": red.id, "name": "red"}
    assert a.owner is not tasks[1].owner


async def test_a_join_larger_than_a_load_slice(model_tables: Any) -> None:
    await model_tables(JlTeam, JlMember, JlTask)
    members = await JlMember.objects.bulk_create([JlMember(handle=f"m{i}") for i in range(7)])
    n = slices.FIRST_SLICE * 3 + 17
    await JlTask.objects.bulk_create(
        [JlTask(title=f"t{i:05d}", owner_id=members[i % 7].id if i % 5 else None) for i in range(n)]
    )
    tasks = await JlTask.objects.join("owner").order_by("title").all()
    assert [t.title for t in tasks] == [f"t{i:05d}" for i in range(n)]
    for i, task in enumerate(tasks):
        if i % 5:
            assert task.owner is not None and task.owner.id == task.owner_id == members[i % 7].id
        else:
            assert task.owner is None and task.owner_id is None
        assert "owner" in task.model_fields_set
    # one instance per member, across the load slices of the result
    assert len({id(t.owner) for t in tasks if t.owner is not None}) == 7
    last = max(i for i in range(n) if i % 7 == 1 and i % 5)
    assert tasks[1].owner is tasks[8].owner is tasks[last].owner
    query = JlTask.objects.join("owner").order_by("title")
    streamed = [t async for t in query.iterator(chunk_size=5_000)]
    assert [(t.title, t.owner_id) for t in streamed] == [(t.title, t.owner_id) for t in tasks]
