"""The bc: and nudge: callback data: what a button carries parses back; forgeries do not."""

from __future__ import annotations

import re

import pytest

from bot import callbacks


@pytest.mark.parametrize("key", ["all", "staff", "cohort:tanger", "pending:kat:pre"])
def test_an_audience_button_parses_back_to_its_key(key: str) -> None:
    data = callbacks.broadcast_audience(key)
    assert len(data.encode()) <= 64
    assert re.match(callbacks.BROADCAST_AUDIENCE_PATTERN, data)
    assert callbacks.parse_broadcast_audience(data) == key
    assert callbacks.parse_broadcast_audience(callbacks.BROADCAST_NO) is None


def test_a_stop_button_names_its_broadcast_and_forged_ones_name_none() -> None:
    data = callbacks.broadcast_stop(42)
    assert re.match(callbacks.BROADCAST_STOP_PATTERN, data)
    assert callbacks.parse_broadcast_stop(data) == 42
    # Past SQLite's integers, not a number, or another prefix: refused before any query.
    for forged in ("bc:stop:" + "9" * 30, "bc:stop:x", "bc:stop:", "bc:a:42", "bc:stop:4 2"):
        assert callbacks.parse_broadcast_stop(forged) is None


def test_confirm_and_cancel_are_the_confirmation_step() -> None:
    for data in (callbacks.BROADCAST_OK, callbacks.BROADCAST_NO):
        assert re.match(callbacks.BROADCAST_CONFIRM_PATTERN, data)
    assert not re.match(callbacks.BROADCAST_CONFIRM_PATTERN, callbacks.broadcast_audience("all"))


def test_a_nudge_button_parses_back_and_forgeries_are_refused() -> None:
    data = callbacks.nudge("satisfaction", "module-1")
    assert callbacks.NUDGE_PATTERN.match(data)
    assert callbacks.parse_nudge(data) == ("satisfaction", "module-1")
    for forged in ("nudge:kat", "nudge:KAT:pre", "nudge:kat:pre:1", "nudge:kat:" + "x" * 13):
        assert callbacks.parse_nudge(forged) is None
