"""What a person sees: texts, screens and keyboards, built from plain data (no ``telegram``)."""
