"""The layout is the architecture: what each layer may import, checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parent.parent / "bot"


def imported(path: Path) -> set[str]:
    """Every module a file imports, at any depth (lazy imports inside functions too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def files(*parts: str) -> list[Path]:
    found: list[Path] = []
    for part in parts:
        target = BOT / part
        found += sorted(target.rglob("*.py")) if target.is_dir() else [target]
    return found


def top(module: str) -> str:
    return module.split(".")[0]


@pytest.mark.parametrize(
    "path",
    files("views", "rules", "callbacks.py", "services", "storage", "content"),
    ids=lambda p: str(p.relative_to(BOT)),
)
def test_below_the_handlers_nothing_imports_telegram(path: Path) -> None:
    assert "telegram" not in {top(m) for m in imported(path)}


@pytest.mark.parametrize(
    "path", files("views", "rules", "callbacks.py"), ids=lambda p: str(p.relative_to(BOT))
)
def test_views_and_rules_do_no_io(path: Path) -> None:
    # Plain data in, text and decisions out: no database driver, no network (types such as
    # Role or Attempt may come from the storage modules that define them).
    forbidden = {"aiosqlite", "sqlite3", "httpx", "aiohttp", "bot.storage.db"}
    assert not imported(path) & forbidden
    assert not any(m.startswith("bot.handlers") for m in imported(path))


def test_every_test_application_paces_on_simulated_time() -> None:
    # The production rate limiter sleeps on the real clock: a test application built
    # with it would wait for real again. Each passes the simulated one (conftest's
    # simulated_limiter) or switches pacing off, and says so at the call.
    missing = []
    for path in sorted((BOT.parent / "tests").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else None
            if name != "build_application":
                continue
            keywords = {k.arg for k in node.keywords}
            if not keywords & {"rate_limiter", "rate_limit"}:
                missing.append(f"{path.name}:{node.lineno}")
    assert missing == []
