"""What people see: texts, screens and keyboards as plain data (no Telegram types here)."""
