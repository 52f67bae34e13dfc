"""PoolSettings: defaults, duration normalisation, and validation naming the field."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest

from oxyde.db import PoolSettings


def test_defaults() -> None:
    s = PoolSettings()
    assert (s.max_connections, s.min_connections) == (10, 1)
    assert (s.acquire_timeout, s.idle_timeout, s.max_lifetime) == (30.0, 600.0, 1800.0)
    assert s.test_before_acquire is False
    assert (s.transaction_timeout, s.transaction_cleanup_interval) == (300.0, 60.0)
    assert (s.sqlite_journal_mode, s.sqlite_synchronous) == ("WAL", "NORMAL")
    assert (s.sqlite_cache_size, s.sqlite_busy_timeout) == (10000, 5000)
    assert s.ssl_mode is s.ssl_root_cert is s.ssl_client_cert is s.ssl_client_key is None
    assert s.pg_application_name is None
    assert s.pg_statement_cache_capacity == 100
    assert s.pg_prepare is True
    assert s.pg_reconnect_timeout == 300.0
    assert (s.mysql_charset, s.mysql_collation) == ("utf8mb4", None)
    assert s.slow_query_threshold is None


def test_durations_accept_seconds_and_timedelta() -> None:
    s = PoolSettings(
        acquire_timeout=timedelta(milliseconds=1500),
        idle_timeout=5,
        max_lifetime=None,
        transaction_timeout=timedelta(minutes=2),
        slow_query_threshold=0.25,
        sqlite_busy_timeout=timedelta(seconds=2),
    )
    assert s.acquire_timeout == 1.5
    assert isinstance(s.idle_timeout, float) and s.idle_timeout == 5.0
    assert s.max_lifetime is None
    assert s.transaction_timeout == 120.0
    assert s.slow_query_threshold == 0.25
    assert s.sqlite_busy_timeout == 2000
    assert PoolSettings(pg_reconnect_timeout=timedelta(seconds=2)).pg_reconnect_timeout == 2.0


def test_sqlite_modes_are_normalised() -> None:
    s = PoolSettings(sqlite_journal_mode="wal", sqlite_synchronous=2)
    assert (s.sqlite_journal_mode, s.sqlite_synchronous) == ("WAL", "FULL")


def test_settings_are_frozen_and_replaceable() -> None:
    s = PoolSettings(max_connections=4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.max_connections = 5  # type: ignore[misc]
    t = dataclasses.replace(s, min_connections=2)
    assert (t.max_connections, t.min_connections) == (4, 2)
    assert t == PoolSettings(max_connections=4, min_connections=2)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"max_connections": 0}, "max_connections"),
        ({"max_connections": 2.5}, "max_connections"),
        ({"min_connections": -1}, "min_connections"),
        ({"min_connections": 5, "max_connections": 2}, "min_connections"),
        ({"acquire_timeout": -1}, "acquire_timeout"),
        ({"acquire_timeout": 0}, "acquire_timeout"),
        ({"acquire_timeout": "30"}, "acquire_timeout"),
        ({"idle_timeout": timedelta(seconds=-5)}, "idle_timeout"),
        ({"max_lifetime": float("nan")}, "max_lifetime"),
        ({"transaction_timeout": -3}, "transaction_timeout"),
        ({"transaction_cleanup_interval": 0}, "transaction_cleanup_interval"),
        ({"test_before_acquire": "yes"}, "test_before_acquire"),
        ({"sqlite_journal_mode": "fast"}, "sqlite_journal_mode"),
        ({"sqlite_synchronous": "sometimes"}, "sqlite_synchronous"),
        ({"sqlite_synchronous": 7}, "sqlite_synchronous"),
        ({"sqlite_cache_size": "big"}, "sqlite_cache_size"),
        ({"sqlite_busy_timeout": -1}, "sqlite_busy_timeout"),
        ({"pg_reconnect_timeout": 0}, "pg_reconnect_timeout"),
        ({"pg_reconnect_timeout": None}, "pg_reconnect_timeout"),
        ({"pg_reconnect_timeout": "5"}, "pg_reconnect_timeout"),
        ({"ssl_mode": "maybe"}, "ssl_mode"),
        ({"ssl_root_cert": ""}, "ssl_root_cert"),
        ({"pg_statement_cache_capacity": -1}, "pg_statement_cache_capacity"),
        ({"pg_prepare": 1}, "pg_prepare"),
        ({"mysql_charset": ""}, "mysql_charset"),
        ({"slow_query_threshold": -0.1}, "slow_query_threshold"),
    ],
)
def test_invalid_values_name_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        PoolSettings(**kwargs)


def test_ssl_modes_of_both_servers() -> None:
    assert PoolSettings(ssl_mode="Verify-Full").ssl_mode == "verify-full"
    assert PoolSettings(ssl_mode="REQUIRED").ssl_mode == "required"


def test_errors_say_what_was_wrong() -> None:
    with pytest.raises(ValueError) as info:
        PoolSettings(max_connections=0)
    assert str(info.value) == "PoolSettings.max_connections must be >= 1, got 0"
    with pytest.raises(ValueError) as info:
        PoolSettings(acquire_timeout="30")  # type: ignore[arg-type]
    assert str(info.value) == (
        "PoolSettings.acquire_timeout must be a number of seconds or a timedelta, got '30'"
    )
    with pytest.raises(ValueError) as info:
        PoolSettings(min_connections=5, max_connections=2)
    assert str(info.value) == (
        "PoolSettings.min_connections (5) must not exceed max_connections (2)"
    )


def test_positional_order_is_the_public_one_then_oxydes() -> None:
    s = PoolSettings(5, 2, 7)
    assert (s.max_connections, s.min_connections, s.acquire_timeout) == (5, 2, 7.0)
    names = [f.name for f in dataclasses.fields(PoolSettings)]
    assert names[:3] == ["max_connections", "min_connections", "acquire_timeout"]
    assert names[-3:] == ["pg_prepare", "slow_query_threshold", "pg_reconnect_timeout"]


def test_replace_validates_the_new_value() -> None:
    s = PoolSettings()
    assert dataclasses.replace(s, idle_timeout=timedelta(seconds=3)).idle_timeout == 3.0
    with pytest.raises(ValueError, match="idle_timeout"):
        dataclasses.replace(s, idle_timeout=-1)
