"""Relais: a Telegram bot that keeps training participants engaged between and after sessions."""

__version__ = "0.1.0"
