"""The certificate and check-in buttons: what is built parses back, nothing else parses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import callbacks


def test_each_button_parses_back_to_what_built_it() -> None:
    assert callbacks.parse_cert_approve(callbacks.cert_approve(42, "success")) == (42, "success")
    assert callbacks.parse_cert_approve(callbacks.cert_approve(7, "participation")) == (
        7,
        "participation",
    )
    assert callbacks.parse_cert_approve_all(callbacks.cert_approve_all("0a1b2c3d4e")) == (
        "0a1b2c3d4e"
    )
    assert callbacks.parse_cert_get(callbacks.cert_get(9)) == 9
    assert callbacks.parse_checkin(callbacks.checkin("stop", "tanger-module-2")) == (
        "stop",
        "tanger-module-2",
    )


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "cert:ok:1:x",  # no such level
        "cert:ok:1234567890123:p",  # an id longer than any the bot builds
        "cert:all:XYZ",
        "cert:get:-1",
        "cert:get:1\n",
        "ci:open:intro-live",
        "ci:new:Tanger Module",
        "ci:new:intro-live:extra",
        "q:1:2",
    ],
)
def test_a_forged_or_foreign_button_parses_to_nothing(data: str | None) -> None:
    parsed = (
        callbacks.parse_cert_approve(data),
        callbacks.parse_cert_approve_all(data),
        callbacks.parse_cert_get(data),
        callbacks.parse_checkin(data),
    )
    assert parsed == (None, None, None, None)


@given(st.integers(min_value=1, max_value=10**12 - 1))
def test_the_buttons_fit_telegram_64_bytes(number: int) -> None:
    session = "s" * 40  # the longest session id a check-in button accepts
    for data in (
        callbacks.cert_approve(number, "participation"),
        callbacks.cert_approve_all("f" * 10),
        callbacks.cert_get(number),
        callbacks.checkin("stop", session),
    ):
        assert len(data.encode()) <= 64
