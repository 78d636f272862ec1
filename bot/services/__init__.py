"""Relais logic; nothing here imports from telegram."""
