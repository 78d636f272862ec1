"""Hostile or unlucky input: alias bombs, oversized files and bodies, over-long screens, HTML
Telegram refuses. Each is refused with one clear line, and nothing is lost."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from pydantic import SecretStr

from bot.app import MAX_UPDATE_BYTES, webhook_of
from bot.clock import FixedClock
from bot.content import ContentError, load_content
from bot.content.loader import MAX_FILE_BYTES
from bot.sandbox.emulator import BotAPIEmulator
from bot.sandbox.harness import running_bot
from bot.sandbox.server import SECRET_HEADER, EmulatorServer
from bot.services.text import message_problem
from bot.settings import Settings
from tests.conftest import CONTENT_DIR, content_copy
from tests.test_e2e import free_port

ROOT = Path(__file__).resolve().parent.parent


def alias_bomb(levels: int) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for n in range(1, levels):
        refs = ", ".join([f"*a{n - 1}"] * 9)
        lines.append(f"a{n}: &a{n} [{refs}]")
    return "\n".join(lines) + "\n"


def test_a_yaml_alias_bomb_is_refused_at_once(tmp_path: Path) -> None:
    folder = content_copy(tmp_path)
    programme = folder / "programme.yaml"
    # Ten levels: 9**10 (3.5 billion) strings once expanded, from a file of a few hundred bytes.
    programme.write_text(alias_bomb(10) + programme.read_text(encoding="utf-8"), "utf-8")
    with pytest.raises(ContentError) as refused:
        load_content(folder)
    assert [str(p) for p in refused.value.problems] == [
        f"{programme}:1: (yaml): more than 200000 values once anchors (&) and aliases (*) are "
        "expanded; write the values out instead"
    ]


def test_an_oversized_content_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    folder = content_copy(tmp_path)
    followup = folder / "followup.yaml"
    with followup.open("a", encoding="utf-8") as handle:
        handle.write("# " + "x" * MAX_FILE_BYTES + "\n")
    with pytest.raises(ContentError) as refused:
        load_content(folder)
    assert len(refused.value.problems) == 1
    assert f"a content file is at most {MAX_FILE_BYTES} bytes" in str(refused.value.problems[0])


def test_relais_check_refuses_a_question_longer_than_a_telegram_message(tmp_path: Path) -> None:
    folder = content_copy(tmp_path)
    kat = folder / "kat.yaml"
    text = kat.read_text(encoding="utf-8")
    # The first question's option d, long enough to overflow the screen once lettered.
    short = "text: {fr: C100 et C111, en: C100 and C111, ar: الاتفاقيتان 100 و111}"
    assert short in text
    kat.write_text(text.replace(short, f"text: '{'Très longue option. ' * 250}'", 1), "utf-8")
    with pytest.raises(ContentError) as refused:
        load_content(folder)
    messages = [str(p) for p in refused.value.problems]
    assert messages
    assert all("over Telegram's 4096" in m for m in messages)
    assert any(
        m.startswith(f"{kat}:") and ": items[0]: the fr screen of 'pre'" in m for m in messages
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Réunion <ANAPEC> demain", "unsupported tag <anapec>"),
        ("<b>Réunion demain", "<b> is never closed"),
        ("x" * 4097, "4097 characters, Telegram's limit is 4096"),
        ("   ", "the message is empty"),
    ],
)
def test_messages_telegram_would_refuse_are_named(text: str, reason: str) -> None:
    problem = message_problem(text)
    assert problem is not None
    assert reason in problem


def test_messages_telegram_sends_pass() -> None:
    assert (
        message_problem("<b>Réunion</b> demain &lt;10 h&gt; <a href='https://x.org'>lien</a>")
        is None
    )
    assert message_problem("é" * 4096) is None


async def test_the_webhook_refuses_a_huge_body_before_checking_the_secret(
    settings: Settings, clock: FixedClock
) -> None:
    emulator = BotAPIEmulator(clock=clock)
    content = load_content(CONTENT_DIR)
    port = free_port()
    url = f"http://127.0.0.1:{port}/relais-hook"
    hook = webhook_of(
        Settings(webhook_url=url, webhook_port=port, webhook_secret=SecretStr("s3cret-token"))
    )
    async with (
        EmulatorServer(emulator, webhook_retry_seconds=0.05) as server,
        running_bot(emulator, server, settings, content, clock=clock, webhook=hook),
        aiohttp.ClientSession() as session,
    ):
        big = b"{" + b" " * (MAX_UPDATE_BYTES + 1) + b"}"
        async with session.post(url, data=big, headers={SECRET_HEADER: "wrong"}) as response:
            assert response.status == 400
        # A normal-sized forged post is still refused for its secret, and the bot still runs.
        async with session.post(url, json={"update_id": 1}, headers={SECRET_HEADER: "x"}) as r:
            assert r.status == 403


def test_the_shipped_caddyfile_limits_the_body_too() -> None:
    text = (ROOT / "deploy" / "Caddyfile").read_text(encoding="utf-8")
    handle = text[text.index("handle @telegram") :]
    handle = handle[: handle.index("reverse_proxy")]
    assert "request_body {" in handle
    assert "max_size 1MB" in handle
