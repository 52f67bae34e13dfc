"""The advisor on every backend: each detection fires on the pattern the performance guide
warns about, and stays quiet on the pattern it recommends."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

import oxyde.advice
from oxyde import F, Field, Index, Model


class AdvWriter(Model):
    id: int | None = Field(default=None, db_pk=True)
    name: str = Field(max_length=50)
    articles: list[AdvArticle] = Field(db_reverse_fk="writer")

    class Meta:
        is_table = True
        table_name = "adv_writer"


class AdvArticle(Model):
    id: int | None = Field(default=None, db_pk=True)
    title: str = Field(max_length=100)
    views: int = 0
    score: int = 0
    writer: AdvWriter | None = Field(default=None, db_on_delete="CASCADE")

    class Meta:
        is_table = True
        table_name = "adv_article"
        indexes = [Index(("score",)), Index(("writer_id",))]


@pytest.fixture(autouse=True)
def clean_advisor() -> Iterator[None]:
    oxyde.advice.reset()
    yield
    oxyde.advice.reset()


@pytest.fixture
async def writers(database: Any, model_tables: Any) -> AsyncIterator[list[AdvWriter]]:
    await model_tables(AdvWriter, AdvArticle)
    made = await AdvWriter.objects.bulk_create([AdvWriter(name=f"w{i}") for i in range(8)])
    await AdvArticle.objects.bulk_create(
        [
            AdvArticle(title=f"{w.name}-{j}", views=j, score=j, writer_id=w.id)
            for w in made
            for j in range(3)
        ]
    )
    yield made


def kinds(found: list[oxyde.advice.Finding]) -> list[str]:
    return [f.kind for f in found]


async def test_children_queried_per_parent_is_an_n_plus_one(writers: list[AdvWriter]) -> None:
    async with oxyde.advice.collect() as found:
        for writer in writers:
            await AdvArticle.objects.filter(writer_id=writer.id).all()
    assert kinds(found) == ["n_plus_one"]
    finding = found[0]
    assert finding.model == "AdvArticle"
    assert finding.fields == ("writer_id",)
    assert finding.suggestion.startswith('AdvWriter.objects.prefetch("articles")')
    assert finding.call_site.startswith(__file__ + ":")
    assert finding.count == len(writers)  # counted on after the threshold
    assert "adv_article" in finding.shape


async def test_parent_fetched_per_child_is_an_n_plus_one(writers: list[AdvWriter]) -> None:
    articles = await AdvArticle.objects.order_by("id").all()
    async with oxyde.advice.collect() as found:
        for article in articles:
            await AdvWriter.objects.get(id=article.writer_id)
    assert kinds(found) == ["n_plus_one"]
    assert found[0].model == "AdvWriter"
    assert found[0].fields == ("id",)
    assert 'AdvArticle.objects.join("writer")' in found[0].suggestion


async def test_join_prefetch_and_repeats_of_one_key_are_not_n_plus_one(
    writers: list[AdvWriter],
) -> None:
    async with oxyde.advice.collect() as found:
        loaded = await AdvWriter.objects.prefetch("articles").all()
        assert sum(len(w.articles) for w in loaded) == 3 * len(writers)
        joined = await AdvArticle.objects.join("writer").all()
        assert all(a.writer is not None for a in joined)
        for _ in range(10):  # the same key again and again is a cache question, not N+1
            await AdvWriter.objects.get(id=writers[0].id)
    assert found == []


async def test_create_in_a_loop_is_reported_and_bulk_create_is_not(
    writers: list[AdvWriter],
) -> None:
    async with oxyde.advice.collect() as found:
        for i in range(12):
            await AdvArticle.objects.create(title=f"loop {i}", writer_id=writers[0].id)
        await AdvArticle.objects.bulk_create(
            [AdvArticle(title=f"bulk {i}", writer_id=writers[1].id) for i in range(50)]
        )
    assert kinds(found) == ["loop_writes"]
    assert found[0].model == "AdvArticle"
    assert found[0].count == 12
    assert "AdvArticle.objects.bulk_create(" in found[0].suggestion
    assert await AdvArticle.objects.count() == 24 + 12 + 50


async def test_save_of_changed_instances_in_a_loop_suggests_bulk_update(
    writers: list[AdvWriter],
) -> None:
    articles = await AdvArticle.objects.all()
    async with oxyde.advice.collect() as found:
        for article in articles:
            article.title = article.title.upper()
            await article.save()
    assert kinds(found) == ["loop_writes"]
    assert "bulk_update(" in found[0].suggestion


async def test_read_modify_write_of_a_number_suggests_an_f_update(
    writers: list[AdvWriter],
) -> None:
    first = await AdvArticle.objects.order_by("id").first()
    assert first is not None
    async with oxyde.advice.collect() as found:
        article = await AdvArticle.objects.get(id=first.id)
        article.views += 5
        await article.save()
    assert kinds(found) == ["read_modify_write"]
    assert found[0].fields == ("views",)
    assert found[0].suggestion.startswith(
        f'await AdvArticle.objects.filter(id={first.id}).update(views=F("views") + 5)'
    )
    assert (await AdvArticle.objects.get(id=first.id)).views == first.views + 5


async def test_f_updates_and_text_edits_are_not_read_modify_write(
    writers: list[AdvWriter],
) -> None:
    first = await AdvArticle.objects.order_by("id").first()
    assert first is not None
    async with oxyde.advice.collect() as found:
        await AdvArticle.objects.filter(id=first.id).update(views=F("views") + 1)
        article = await AdvArticle.objects.get(id=first.id)
        article.title = "renamed"
        article.views += 1  # beside a text change: a real edit, not a counter
        await article.save()
    assert found == []


async def test_large_unlimited_reads_are_reported_and_limited_ones_are_not(
    writers: list[AdvWriter],
) -> None:
    oxyde.advice.configure(unbounded_rows=10)
    async with oxyde.advice.collect() as found:
        assert len(await AdvArticle.objects.limit(20).all()) == 20
        assert len(await AdvArticle.objects.values("id", "title").limit(15).all()) == 15
        seen = [a async for a in AdvArticle.objects.iterator()]
        assert len(seen) == 24
        assert found == []
        assert len(await AdvArticle.objects.all()) == 24
    assert kinds(found) == ["unbounded_read"]
    assert found[0].count == 24
    assert "iterator()" in found[0].suggestion


async def test_frequent_filter_on_an_unindexed_column_suggests_an_index(
    writers: list[AdvWriter],
) -> None:
    oxyde.advice.configure(index_sample_after=3, index_table_rows=100)
    await AdvArticle.objects.bulk_create(
        [AdvArticle(title=f"x{i}", views=i, score=i, writer_id=writers[0].id) for i in range(300)]
    )
    async with oxyde.advice.collect() as found:
        for value in (5, 6, 7):
            await AdvArticle.objects.filter(views=value).all()
        for value in (5, 6, 7):
            await AdvArticle.objects.filter(score=value).all()  # has an index
    assert kinds(found) == ["missing_index"]
    assert found[0].fields == ("views",)
    assert found[0].suggestion.startswith('indexes = [Index(("views",))]')


async def test_small_tables_are_not_worth_an_index(writers: list[AdvWriter]) -> None:
    oxyde.advice.configure(index_sample_after=2, index_table_rows=1000)
    async with oxyde.advice.collect() as found:
        for value in (1, 2):
            await AdvArticle.objects.filter(views=value).all()
    assert found == []


async def test_findings_go_to_the_oxyde_advice_logger_with_the_finding(
    writers: list[AdvWriter], caplog: pytest.LogCaptureFixture
) -> None:
    oxyde.advice.enable(["n_plus_one"], n_plus_one=3)
    with caplog.at_level(logging.WARNING, logger="oxyde.advice"):
        for writer in writers[:3]:
            await AdvArticle.objects.filter(writer_id=writer.id).all()
    records = [r for r in caplog.records if r.name == "oxyde.advice"]
    assert len(records) == 1
    finding = records[0].oxyde_finding  # type: ignore[attr-defined]
    assert finding.kind == "n_plus_one"
    assert finding.count == 3
    assert "n_plus_one: AdvArticle (writer_id) seen 3x" in records[0].getMessage()


async def test_disabled_detections_stay_quiet_and_results_are_unchanged(
    writers: list[AdvWriter],
) -> None:
    oxyde.advice.configure(["unbounded_read"])
    plain = [a.model_dump() for a in await AdvArticle.objects.filter(writer_id=writers[0].id).all()]
    async with oxyde.advice.collect() as found:
        watched = [
            [a.model_dump() for a in await AdvArticle.objects.filter(writer_id=w.id).all()]
            for w in writers
        ]
    assert found == []
    assert watched[0] == plain
