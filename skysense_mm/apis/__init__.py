"""High-level helpers."""
