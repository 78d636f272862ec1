"""The pure core: rules as functions over plain data, with no I/O and no Telegram."""
