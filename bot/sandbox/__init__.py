"""Stand-ins for Telegram: an in-process offline Bot API and helpers to build updates."""
