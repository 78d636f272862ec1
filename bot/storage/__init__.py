"""SQLite storage: one connection per process, versioned migrations, plain dataclasses."""

from bot.storage.db import Database, MigrationError
from bot.storage.migrations import MIGRATIONS, SCHEMA_VERSION

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Database", "MigrationError"]
