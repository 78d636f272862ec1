"""What a person sees: texts, screens and keyboards built from plain data, with no Telegram.

Handlers turn a ``Screen`` into a message (``bot.handlers.common.markup``); the outbox
stores the same buttons as data.
"""
