"""skysense_mm: SkySense (CVPR 2024, https://arxiv.org/abs/2312.10115) for
the OpenMMLab 2.x stack.

Importing the package applies the upstream workarounds of
:mod:`skysense_mm.utils.compat` and creates the registries, so stock configs
reach our modules with ``custom_imports=dict(imports=['skysense_mm'])`` and
``type='skysense_mm.<Name>'``.
"""
from .utils.compat import apply_compat_patches

apply_compat_patches()

from . import registry  # noqa: E402,F401
from .version import __version__, version_info  # noqa: E402

__all__ = ['__version__', 'version_info', 'registry']
