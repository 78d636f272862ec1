"""What a person sees: texts, screens, keyboards and the report, built from plain data."""
