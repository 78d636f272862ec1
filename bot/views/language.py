"""/language: the choice of French, English or Arabic, and its confirmation."""

from __future__ import annotations

from bot.callbacks import language_data
from bot.i18n import LOCALES, Translator
from bot.views.screen import Button, Screen

# Each language is named in itself, so anyone can find theirs whatever the current one.
NATIVE_NAMES = {"fr": "Français", "en": "English", "ar": "العربية"}


def language_screen(t: Translator) -> Screen:
    """The question, with one button per language on one row."""
    row = [Button(NATIVE_NAMES[code], language_data(code)) for code in LOCALES]
    return Screen(t.gettext("Choose your language:"), [row])


def chosen_text(t: Translator) -> str:
    """The confirmation, in the language just chosen (``t`` speaks it)."""
    return t.gettext("Done: I will now write to you in English.")
