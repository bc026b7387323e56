"""High-level helpers."""
from .inference import extract_features, init_model

__all__ = ['init_model', 'extract_features']
