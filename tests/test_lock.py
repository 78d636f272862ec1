"""The one-bot-per-database lock names its holder, even a bot that has just taken it."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest

from bot.storage import lock
from bot.storage.lock import AlreadyRunning, InstanceLock


def _hold_without_pid(database: Path) -> int:
    """Takes the lock as a bot does in the instant before it writes its pid."""
    fd = os.open(lock.lock_path(database), os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


def test_a_bot_that_has_just_taken_the_lock_is_named_once_it_writes_its_pid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "relais.db"
    holder = _hold_without_pid(database)
    # The holder writes its pid while the second bot waits (the wait is where it gets the CPU).
    monkeypatch.setattr("bot.storage.lock.time.sleep", lambda _s: os.pwrite(holder, b"4242", 0))
    try:
        with pytest.raises(AlreadyRunning) as refused:
            InstanceLock(database).acquire()
    finally:
        os.close(holder)
    assert refused.value.pid == 4242
    assert "pid 4242" in str(refused.value)


def test_a_holder_that_never_writes_its_pid_is_another_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "relais.db"
    holder = _hold_without_pid(database)
    waits: list[float] = []
    monkeypatch.setattr("bot.storage.lock.time.sleep", waits.append)
    try:
        with pytest.raises(AlreadyRunning) as refused:
            InstanceLock(database).acquire()
    finally:
        os.close(holder)
    assert refused.value.pid is None
    assert "another process" in str(refused.value)
    assert sum(waits) < 1  # bounded: a refusal never hangs


def test_a_probe_holding_the_lock_for_an_instant_does_not_stop_a_bot_starting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "relais.db"
    holder = _hold_without_pid(database)
    # The probe lets go while the starting bot waits, as ``running_pid`` does at once.
    monkeypatch.setattr("bot.storage.lock.time.sleep", lambda _s: os.close(holder))
    with InstanceLock(database):
        assert lock.running_pid(database) == os.getpid()
    assert lock.running_pid(database) is None
