"""``skysense_mm.models.utils.meta_build``: building on the meta device.

Library constructors read drop-path rates back with
``torch.linspace(...).tolist()`` / ``.item()``, which fails when every tensor
lives on ``meta``; :func:`meta_device` makes such reads work while every
parameter and buffer still ends on ``meta``.
"""
import subprocess
import sys
import textwrap

import pytest
import torch

from skysense_mm.models.utils.meta_build import (build_model_on_meta,
                                                 meta_device)


def _tiny_mmseg_vit():
    from mmseg.models.backbones import VisionTransformer
    return VisionTransformer(img_size=32, patch_size=4, embed_dims=32,
                             num_layers=2, num_heads=2,
                             drop_path_rate=0.1)


def test_plain_meta_device_fails_on_library_constructors():
    """The problem being worked around (mmseg ViT reads linspace values),
    in a fresh interpreter (other tests may have imported or patched
    modules)."""
    code = textwrap.dedent('''
        import torch
        from mmseg.models.backbones import VisionTransformer
        try:
            with torch.device('meta'):
                VisionTransformer(img_size=32, patch_size=4, embed_dims=32,
                                  num_layers=2, num_heads=2,
                                  drop_path_rate=0.1)
            print('built')
        except (RuntimeError, NotImplementedError) as err:
            print('failed:', type(err).__name__)
    ''')
    res = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip().startswith('failed:'), res.stdout


def test_meta_device_builds_library_modules_without_memory():
    with meta_device():
        vit = _tiny_mmseg_vit()
    tensors = list(vit.parameters()) + list(vit.buffers())
    assert tensors and all(t.is_meta for t in tensors)
    # the drop-path rates were read as numbers, as on the CPU
    rates = [getattr(layer.ffn.dropout_layer, 'drop_prob', 0.0)
             for layer in vit.layers]
    assert rates == pytest.approx([0.0, 0.1])
    # the patch is undone afterwards
    assert torch.linspace(0, 1, 3, device='meta').is_meta


def test_build_model_on_meta_rejects_bad_config():
    with pytest.raises(TypeError, match='config must be a path'):
        build_model_on_meta(42)
    from mmengine.config import Config
    with pytest.raises(ValueError, match='no "model" field'):
        build_model_on_meta(Config(dict(a=1)))


def test_meta_device_leaves_torch_device_contexts_working():
    """Using :func:`meta_device` first in a process must not hide
    ``torch.linspace`` from later ``with torch.device(...)`` blocks (torch
    caches its set of factory functions on first use)."""
    code = textwrap.dedent('''
        import torch
        from skysense_mm.models.utils.meta_build import meta_device
        with meta_device():
            torch.nn.Linear(2, 2)
        with torch.device('meta'):
            print(torch.linspace(0, 1, 3).device)
    ''')
    res = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip() == 'meta'
