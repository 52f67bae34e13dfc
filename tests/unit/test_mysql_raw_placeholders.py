"""``execute_raw`` SQL on MySQL: the public Oxyde's ``?`` placeholders and a literal ``%``
become what mysqlclient's %-formatting takes; ``%s`` SQL is left alone."""

from __future__ import annotations

import pytest

from oxyde.sql.dialects.mysql import raw_sql


@pytest.mark.parametrize(
    ("sql", "sent"),
    [
        ("SELECT ?, ?", "SELECT %s, %s"),
        (
            "SELECT name FROM t WHERE name LIKE 'a%' AND id = ?",
            "SELECT name FROM t WHERE name LIKE 'a%%' AND id = %s",
        ),
        ("SELECT '100%'", "SELECT '100%%'"),
        ("SELECT '?', `a?b`, \"?\", ?", "SELECT '?', `a?b`, \"?\", %s"),
        ("SELECT 'it''s ?', 'a\\'?', ?", "SELECT 'it''s ?', 'a\\'?', %s"),
        (
            "SELECT ? -- what?\n, ? # why?\n, /* ? */ ?",
            "SELECT %s -- what?\n, %s # why?\n, /* ? */ %s",
        ),
        ("SELECT %s, 'a%%b'", "SELECT %s, 'a%%b'"),
        ("SELECT 5 % 2", "SELECT 5 %% 2"),
    ],
)
def test_raw_sql(sql: str, sent: str) -> None:
    assert raw_sql(sql) == sent


def test_the_driver_formatting_gives_back_the_literal_text() -> None:
    sent = raw_sql("SELECT '50% off', ? LIKE 'a%', 5 % 2")
    assert sent % ("'x'",) == "SELECT '50% off', 'x' LIKE 'a%', 5 % 2"
