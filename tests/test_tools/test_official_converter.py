"""Official SkySense checkpoint conversion (issue 3, item 6).

Fake official files are generated from the manifest
``../shared/design/official_checkpoint_manifest.tsv`` (full size, on the
``meta`` device) and from a tiny model (small real files for the CLI).
"""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from conftest import OFFICIAL_MANIFEST

from skysense_mm.models.utils.meta_build import build_model_on_meta
from skysense_mm.models.utils.official_ckpt import (
    NOT_RELEASED_KEYS, OFFICIAL_FILES, REBUILT_BUFFER_NAMES,
    convert_official_state_dict,
    diff_state_dict, is_rebuilt_buffer, load_converted_state_dict,
    parse_checkpoint_manifest, read_official_files, to_official_state_dicts)

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
MANIFEST = OFFICIAL_MANIFEST
PAPER_CFG = osp.join(ROOT, 'configs', '_base_', 'models', 'skysense_paper.py')
TINY_CFG = osp.join(ROOT, 'configs', '_base_', 'models', 'skysense_tiny.py')
CONVERTER = osp.join(ROOT, 'tools', 'model_converters',
                     'skysense_official2mm.py')


def manifest_state_dict():
    rows = parse_checkpoint_manifest(MANIFEST)
    return {k: torch.empty(s, device='meta') for _, k, s in rows}, rows


def test_manifest_conversion_maps_every_key():
    official, rows = manifest_state_dict()
    assert len(official) == len(rows) == 1314
    converted, dropped = convert_official_state_dict(official)
    assert dropped == ['backbone_gep.mask_token']
    assert len(converted) == len(official) - 1
    # tensors pass through untouched (no copy, still meta)
    assert converted['fusion_neck.date_embedding'] is official['ctpe']
    assert all(v.is_meta for v in converted.values())
    assert converted['fusion_neck.fusion.proj.weight'].shape == (1024, 2816)
    assert converted['fusion_neck.lift_s2.decoder.0.weight'].shape == (
        45056, 1024, 1, 1)
    assert 'backbone_hr.stages.2.blocks.17.norm3.weight' in converted
    assert not any('porj' in k or 'gep' in k for k in converted)
    prefixes = {k.split('.')[0] for k in converted}
    assert prefixes == {
        'backbone_hr', 'backbone_s2', 'backbone_s1', 'fusion_neck'
    }
    # inverse: same keys, same files as the manifest
    back = to_official_state_dicts(converted)
    file_of = {k: f for f, k, _ in rows}
    assert {k for sd in back.values() for k in sd} == set(official) - {
        'backbone_gep.mask_token'
    }
    for fname, sd in back.items():
        assert all(file_of[k] == fname for k in sd)
    assert set(back) == set(OFFICIAL_FILES)


def test_dropped_keys_agree_with_the_backbone():
    from skysense_mm.models.backbones.swin_v2 import SkySenseSwinV2
    assert set(SkySenseSwinV2.rebuilt_buffer_names) == set(
        REBUILT_BUFFER_NAMES)
    extra = {
        'backbone_gep.' + k: torch.zeros(1)
        for k in SkySenseSwinV2.official_extra_keys
    }
    converted, dropped = convert_official_state_dict(extra)
    assert converted == {} and dropped == sorted(extra)


def test_rebuilt_buffers_dropped_and_unknown_keys_named():
    official = {
        'backbone_gep.stages.0.blocks.0.attn.w_msa.relative_coords_table':
        torch.zeros(1, 15, 15, 2),
        'backbone_gep.stages.0.blocks.0.attn.w_msa.relative_position_index':
        torch.zeros(64, 64, dtype=torch.long),
        'module.head_s1.decoder.0.bias': torch.ones(3),
        'head_gep.proj.weight': torch.zeros(2, 2),
    }
    converted, dropped = convert_official_state_dict(official)
    assert list(converted) == ['fusion_neck.lift_s1.decoder.0.bias']
    assert len(dropped) == 3
    bad = dict(official)
    bad['backbone_s2.layers.0.attn.qkv.weight'] = torch.zeros(1)
    bad['neck.foo'] = torch.zeros(1)
    with pytest.raises(ValueError) as err:
        convert_official_state_dict(bad)
    assert 'backbone_s2.layers.0.attn.qkv.weight' in str(err.value)
    assert 'neck.foo' in str(err.value)
    with pytest.raises(TypeError, match='state_dict'):
        convert_official_state_dict([('ctpe', torch.zeros(1))])
    with pytest.raises(ValueError, match='no official counterpart'):
        to_official_state_dicts({'decode_head.conv.weight': torch.zeros(1)})


def test_manifest_loads_into_paper_config():
    """Every key of the paper model is covered, nothing is left over."""
    official, _ = manifest_state_dict()
    converted, _ = convert_official_state_dict(official)
    model = build_model_on_meta(PAPER_CFG)
    own = model.state_dict()
    diff = diff_state_dict(model, converted)
    # only the ViT pos_embed length may differ (resized on load)
    assert diff.missing == [] and diff.unexpected == []
    assert {k for k, _, _ in diff.shape_mismatch} <= {
        'backbone_s2.pos_embed', 'backbone_s1.pos_embed'
    }
    assert set(diff.not_released) <= set(NOT_RELEASED_KEYS)
    diff = load_converted_state_dict(model, converted, strict=True)
    assert diff.ok
    loaded = model.state_dict()
    for key, value in converted.items():
        assert loaded[key].shape == own[key].shape, key
    # the documented exceptions really are all that is not covered
    uncovered = {
        k
        for k in own if k not in converted and not is_rebuilt_buffer(k)
    }
    assert uncovered == set(diff.not_released)


def test_other_architecture_names_differing_keys():
    official, _ = manifest_state_dict()
    converted, _ = convert_official_state_dict(official)
    model = build_model_on_meta(TINY_CFG)
    with pytest.raises(ValueError) as err:
        load_converted_state_dict(model, converted, strict=True)
    msg = str(err.value)
    assert 'another shape' in msg or 'unexpected' in msg
    assert 'backbone_hr.' in msg


@pytest.fixture(scope='module')
def tiny_official_files(tmp_path_factory):
    """Six small official files made from the tiny model's state dict."""
    tmp = tmp_path_factory.mktemp('official')
    model = build_model_on_meta(TINY_CFG)
    gen = torch.Generator().manual_seed(0)
    ours = {
        k: torch.randn(v.shape, generator=gen).to(v.dtype)
        if v.is_floating_point() else torch.zeros(v.shape, dtype=v.dtype)
        for k, v in model.state_dict().items()
    }
    files = to_official_state_dicts(ours)
    assert set(files) == set(OFFICIAL_FILES)
    # ctpe may come in any file: put it with the fusion weights here
    files[OFFICIAL_FILES[3]]['ctpe'] = files[OFFICIAL_FILES[1]].pop('ctpe')
    paths = []
    for name in OFFICIAL_FILES:
        path = str(tmp / name)
        torch.save({'model': files[name]}, path)
        paths.append(path)
    return ours, paths, tmp


def test_cli_converts_and_checks(tiny_official_files):
    ours, paths, tmp = tiny_official_files
    dst = str(tmp / 'out' / 'skysense_tiny_mm.pth')
    proc = subprocess.run(
        [sys.executable, CONVERTER, *paths, dst, '--check', TINY_CFG],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == 'missing=0 unexpected=0'
    assert not [f for f in os.listdir(osp.dirname(dst)) if f.endswith('tmp')]
    ckpt = torch.load(dst, map_location='cpu', weights_only=True)
    assert sorted(ckpt['meta']['converted_from']) == sorted(OFFICIAL_FILES)
    # load into a real tiny model: strict, then compare every tensor
    from mmengine.config import Config

    from skysense_mm.registry import MODELS
    model = MODELS.build(Config.fromfile(TINY_CFG).model)
    diff = load_converted_state_dict(model, ckpt['state_dict'], strict=True)
    assert diff.ok
    state = model.state_dict()
    expected = {
        k: v
        for k, v in ours.items()
        if not is_rebuilt_buffer(k) and k not in NOT_RELEASED_KEYS
    }
    assert set(ckpt['state_dict']) == set(expected)
    for key, value in expected.items():
        torch.testing.assert_close(state[key], value, rtol=0, atol=0)


def test_cli_errors(tiny_official_files, tmp_path):
    _, paths, _ = tiny_official_files
    # the same key in two files
    proc = subprocess.run(
        [sys.executable, CONVERTER, paths[0], paths[0],
         str(tmp_path / 'x.pth')],
        capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode != 0 and 'DST must not' not in proc.stderr
    assert 'in both' in proc.stderr
    # a file that is not an official checkpoint
    bogus = str(tmp_path / 'bogus.pth')
    torch.save([1, 2, 3], bogus)
    with pytest.raises(ValueError, match='bogus.pth'):
        read_official_files([bogus])
    proc = subprocess.run([sys.executable, CONVERTER, paths[0]],
                          capture_output=True, text=True, cwd=ROOT,
                          timeout=60)
    assert proc.returncode == 2 and 'DST' in proc.stderr


def test_pos_embed_of_another_grid_is_resized_like_mmseg():
    from mmseg.models.backbones import VisionTransformer

    from skysense_mm.models.utils.official_ckpt import _resize_pos_embed
    src = torch.randn(1, 1 + 4 * 4, 8)
    out = _resize_pos_embed(src, (1, 1 + 2 * 2, 8))
    expected = VisionTransformer.resize_pos_embed(src, (2, 2), (4, 4),
                                                  'bicubic')
    torch.testing.assert_close(out, expected)
    # loading: a 4x4+1 checkpoint into the tiny model's 2x2+1 pos_embed
    model = build_model_on_meta(TINY_CFG)
    own = model.state_dict()
    sd = {
        k: torch.zeros(v.shape, dtype=v.dtype)
        for k, v in own.items() if not is_rebuilt_buffer(k)
        and k not in NOT_RELEASED_KEYS
    }
    sd['backbone_s2.pos_embed'] = torch.randn(1, 17, 64)
    diff = load_converted_state_dict(model, sd, strict=True)
    assert diff.ok
    assert model.backbone_s2.pos_embed.shape == (1, 5, 64)
