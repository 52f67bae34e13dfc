"""The advisor's configuration: thresholds and detection names are checked when set."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import oxyde.advice
from oxyde.advice.settings import AdvisorConfigError, AdvisorSettings, from_env


@pytest.fixture(autouse=True)
def clean_advisor() -> Iterator[None]:
    oxyde.advice.reset()
    yield
    oxyde.advice.reset()


def test_unknown_detection_names_fail_with_the_valid_ones() -> None:
    with pytest.raises(AdvisorConfigError, match=r"unknown advisor detection\(s\) 'n_plus_two'"):
        oxyde.advice.enable(["n_plus_two"])
    assert not oxyde.advice.is_enabled()
    with pytest.raises(AdvisorConfigError, match="valid: n_plus_one, loop_writes"):
        AdvisorSettings(detections=frozenset({"nope"}))


@pytest.mark.parametrize(
    ("name", "value"),
    [("n_plus_one", 1), ("loop_writes", 0), ("unbounded_rows", -5), ("index_table_rows", 2.5)],
)
def test_thresholds_out_of_range_fail(name: str, value: object) -> None:
    with pytest.raises(AdvisorConfigError, match=f"{name}={value!r} is out of range"):
        oxyde.advice.configure(**{name: value})
    assert oxyde.advice.settings() == AdvisorSettings()


def test_unknown_setting_fails() -> None:
    with pytest.raises(AdvisorConfigError, match="unknown advisor setting"):
        oxyde.advice.configure(n_plus_none=3)


def test_enable_disable_and_settings() -> None:
    from oxyde.advice import switch

    assert not switch.on
    chosen = oxyde.advice.enable(["n_plus_one", "loop_writes"], n_plus_one=3)
    assert switch.on and oxyde.advice.is_enabled()
    assert chosen.detections == {"n_plus_one", "loop_writes"}
    assert chosen.n_plus_one == 3
    oxyde.advice.disable()
    assert not switch.on
    assert oxyde.advice.settings().n_plus_one == 3


def test_environment_forms() -> None:
    assert from_env({}) is None
    assert from_env({"OXYDE_ADVICE": "0"}) is None
    every = from_env({"OXYDE_ADVICE": "1"})
    assert every is not None and every.detections == set(oxyde.advice.DETECTIONS)
    some = from_env(
        {"OXYDE_ADVICE": "n_plus_one, loop_writes", "OXYDE_ADVICE_THRESHOLDS": "n_plus_one=3"}
    )
    assert some is not None
    assert some.detections == {"n_plus_one", "loop_writes"} and some.n_plus_one == 3
    with pytest.raises(AdvisorConfigError, match="OXYDE_ADVICE: unknown advisor detection"):
        from_env({"OXYDE_ADVICE": "n_plus_one,typo"})
    with pytest.raises(AdvisorConfigError, match="is not NAME=INTEGER"):
        from_env({"OXYDE_ADVICE": "1", "OXYDE_ADVICE_THRESHOLDS": "speed=3"})
    with pytest.raises(AdvisorConfigError, match="is not an integer"):
        from_env({"OXYDE_ADVICE": "1", "OXYDE_ADVICE_THRESHOLDS": "n_plus_one=lots"})


def test_the_environment_switches_it_on_at_import() -> None:
    import os
    import subprocess
    import sys

    code = "import oxyde.advice as a; print(a.is_enabled(), sorted(a.settings().detections))"
    env = {**os.environ, "OXYDE_ADVICE": "loop_writes"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "True ['loop_writes']"
    env["OXYDE_ADVICE"] = "bogus"
    failed = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert failed.returncode != 0
    assert "OXYDE_ADVICE: unknown advisor detection(s) 'bogus'" in failed.stderr
