"""The advisor's pytest plugin: strict mode fails a test on N+1 or write loops, and only then."""

from __future__ import annotations

import textwrap

import pytest

pytest_plugins = ("pytester",)

MODELS_AND_DB = textwrap.dedent(
    """
    import pytest
    from oxyde import Field, Model, create_tables, db


    class PtAuthor(Model):
        id: int | None = Field(default=None, db_pk=True)
        name: str = ""

        class Meta:
            is_table = True


    class PtBook(Model):
        id: int | None = Field(default=None, db_pk=True)
        title: str = ""
        author: PtAuthor | None = Field(default=None, db_on_delete="CASCADE")

        class Meta:
            is_table = True


    @pytest.fixture
    async def authors(tmp_path):
        await db.init(default=f"sqlite:///{tmp_path / 'pt.db'}")
        await create_tables(await db.get_connection("default"))
        made = await PtAuthor.objects.bulk_create([PtAuthor(name=str(i)) for i in range(6)])
        yield made
        await db.close()
    """
)

N_PLUS_ONE = """
async def test_books_per_author(authors):
    for author in authors:
        await PtBook.objects.filter(author_id=author.id).all()


async def test_prefetch_style(authors):
    ids = [a.id for a in authors]
    await PtBook.objects.filter(author_id__in=ids).all()
"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini("[pytest]\nasyncio_mode = auto\n")
    pytester.makeconftest(MODELS_AND_DB.replace("import pytest", "import pytest  # noqa"))
    return pytester


def test_without_options_findings_do_not_fail_tests(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_books="from conftest import PtBook\n" + N_PLUS_ONE)
    result = suite.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_strict_option_fails_the_n_plus_one_test_only(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_books="from conftest import PtBook\n" + N_PLUS_ONE)
    result = suite.runpytest_subprocess("-p", "no:cacheprovider", "--oxyde-advice-strict")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*oxyde advisor: 1 finding(s) in strict mode:*",
            "*n_plus_one: PtBook (author_id) seen 5x at *test_books.py:5*",
            "*FAILED test_books.py::test_books_per_author*",
        ]
    )


def test_marker_makes_one_test_strict_and_can_name_kinds(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        test_books="import pytest\nfrom conftest import PtBook, PtAuthor\n"
        + textwrap.dedent(
            """
            @pytest.mark.oxyde_strict
            async def test_marked(authors):
                for author in authors:
                    await PtBook.objects.filter(author_id=author.id).all()


            @pytest.mark.oxyde_strict("n_plus_one")
            async def test_only_n_plus_one_counts(authors):
                for i in range(12):
                    await PtAuthor.objects.create(name=f"loop {i}")


            async def test_unmarked(authors, oxyde_findings):
                for author in authors:
                    await PtBook.objects.filter(author_id=author.id).all()
                assert [f.kind for f in oxyde_findings] == ["n_plus_one"]
            """
        )
    )
    result = suite.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*FAILED test_books.py::test_marked*"])


def test_a_marker_naming_an_unknown_kind_is_an_error(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        test_books=textwrap.dedent(
            """
            import pytest

            @pytest.mark.oxyde_strict("n_plus_two")
            def test_it():
                pass
            """
        )
    )
    result = suite.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*unknown advisor detection(s) 'n_plus_two'*"])
