"""Conversion and loading of the official SkySense checkpoints.

SkySense (CVPR 2024, https://arxiv.org/abs/2312.10115) was released as six
files (``skysense_model_backbone_hr.pth``, ``..._backbone_s2.pth``,
``..._backbone_s1.pth``, ``..._fusion.pth``, ``..._head_s2.pth``,
``..._head_s1.pth``), each ``torch.load(f)['model']``. This module renames
their keys to the state-dict layout of :class:`skysense_mm.models.SkySense`:

=======================  ====================================
official                 skysense_mm
=======================  ====================================
``backbone_gep.*``       ``backbone_hr.*``
``backbone_s2.*``        ``backbone_s2.*``
``backbone_s1.*``        ``backbone_s1.*``
``head_s2.*``            ``fusion_neck.lift_s2.*``
``head_s1.*``            ``fusion_neck.lift_s1.*``
``ctpe``                 ``fusion_neck.date_embedding``
``fusion.*``             ``fusion_neck.fusion.*``
``fusion.porj_linear.*`` ``fusion_neck.fusion.proj.*``
=======================  ====================================

Dropped on conversion: the ``relative_coords_table`` and
``relative_position_index`` buffers of the Swin-V2 window attention (they
are a function of the window size and are rebuilt when the model is built),
the HR ``mask_token`` (a masked-image-modelling token of pre-training that
the encoder does not use) and any ``head_gep*`` key (a pre-training head of
the HR branch with no counterpart downstream). ``geo_prototypes.prototypes``
is not part of the release and stays as initialised.

Everything here works on tensors of any device, ``meta`` included, so the
full-size conversion can be checked without allocating memory.
"""
import os
import os.path as osp
import re
import tempfile
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    'OFFICIAL_FILES', 'REBUILT_BUFFER_NAMES', 'NOT_RELEASED_KEYS',
    'convert_official_state_dict', 'to_official_state_dicts',
    'read_official_files', 'save_checkpoint_atomic', 'is_rebuilt_buffer',
    'StateDictDiff', 'diff_state_dict', 'load_converted_state_dict',
    'parse_checkpoint_manifest'
]

#: The released file names, in the order the converter reads them.
OFFICIAL_FILES = (
    'skysense_model_backbone_hr.pth',
    'skysense_model_backbone_s2.pth',
    'skysense_model_backbone_s1.pth',
    'skysense_model_fusion.pth',
    'skysense_model_head_s2.pth',
    'skysense_model_head_s1.pth',
)

#: Buffers recomputed from the architecture when a model is built.
REBUILT_BUFFER_NAMES = ('relative_coords_table', 'relative_position_index')

#: Keys of our model with no counterpart in the release.
NOT_RELEASED_KEYS = ('geo_prototypes.prototypes', )

# (official prefix, our prefix); the first match wins.
_PREFIXES = (
    ('backbone_gep.', 'backbone_hr.'),
    ('backbone_s2.', 'backbone_s2.'),
    ('backbone_s1.', 'backbone_s1.'),
    ('head_s2.', 'fusion_neck.lift_s2.'),
    ('head_s1.', 'fusion_neck.lift_s1.'),
    ('fusion.', 'fusion_neck.fusion.'),
)
_EXACT = {'ctpe': 'fusion_neck.date_embedding'}

# What may follow each official prefix (the rest of the key).
_SWIN = (r'patch_embed\.(projection|norm)\.(weight|bias)'
         r'|norm\d+\.(weight|bias)'
         r'|stages\.\d+\.downsample\.(reduction|norm)\.(weight|bias)'
         r'|stages\.\d+\.blocks\.\d+\.(norm[123]\.(weight|bias)'
         r'|ffn\.layers\.(0\.0|1)\.(weight|bias)'
         r'|attn\.w_msa\.(logit_scale|q_bias|v_bias|cpb_mlp\.[02]\.'
         r'(weight|bias)|qkv\.(weight|bias)|proj\.(weight|bias)'
         r'|relative_coords_table|relative_position_index))')
_ENC_LAYER = (r'layers\.\d+\.(ln[12]\.(weight|bias)'
              r'|attn\.attn\.(in_proj_weight|in_proj_bias'
              r'|out_proj\.(weight|bias))'
              r'|ffn\.layers\.(0\.0|1)\.(weight|bias))')
_VIT = (r'cls_token|pos_embed|patch_embed\.projection\.(weight|bias)'
        r'|ln1\.(weight|bias)|pre_ln\.(weight|bias)|' + _ENC_LAYER)
_FUSION = r'cls_token|(porj_linear|proj)\.(weight|bias)|' + _ENC_LAYER
_HEAD = r'decoder\.0\.(weight|bias)'
_GRAMMAR = {
    'backbone_gep.': re.compile(rf'(?:{_SWIN})'),
    'backbone_s2.': re.compile(rf'(?:{_VIT})'),
    'backbone_s1.': re.compile(rf'(?:{_VIT})'),
    'head_s2.': re.compile(rf'(?:{_HEAD})'),
    'head_s1.': re.compile(rf'(?:{_HEAD})'),
    'fusion.': re.compile(rf'(?:{_FUSION})'),
}
# Official keys dropped on purpose (documented in docs/model_zoo.md).
_DROPPED = re.compile(r'backbone_gep\.mask_token|head_gep.*')


def is_rebuilt_buffer(key: str) -> bool:
    """Whether ``key`` names a buffer rebuilt from the architecture.

    Args:
        key (str): A state-dict key.

    Returns:
        bool: True for ``relative_coords_table`` / ``relative_position_index``.
    """
    return key.rsplit('.', 1)[-1] in REBUILT_BUFFER_NAMES


def _strip_wrappers(key: str) -> str:
    for wrapper in ('module.', ):
        if key.startswith(wrapper):
            key = key[len(wrapper):]
    return key


def convert_official_state_dict(
    state_dict: Mapping[str, torch.Tensor]
) -> Tuple[Dict[str, torch.Tensor], List[str]]:
    """Rename an official SkySense state dict to the skysense_mm layout.

    A pure function: tensors are passed through untouched (no copy, any
    device including ``meta``); see the module docstring for the mapping.

    Args:
        state_dict (Mapping[str, Tensor]): Merged contents of one or more
            official files (``torch.load(f)['model']``). A leading
            ``module.`` is ignored.

    Returns:
        tuple[dict[str, Tensor], list[str]]: The renamed state dict and the
        sorted official keys that were dropped (rebuilt buffers, the HR
        ``mask_token``, ``head_gep*``).

    Raises:
        TypeError: If ``state_dict`` is not a mapping of str to Tensor.
        ValueError: If keys do not belong to the official layout (all of
            them are named) or two keys map to the same name.
    """
    if not isinstance(state_dict, Mapping):
        raise TypeError('state_dict must be a mapping of str to Tensor, '
                        f'got {type(state_dict).__name__}')
    converted: Dict[str, torch.Tensor] = {}
    dropped: List[str] = []
    unknown: List[str] = []
    for raw_key, value in state_dict.items():
        if not isinstance(raw_key, str) or not torch.is_tensor(value):
            raise TypeError('state_dict must map str to Tensor, got '
                            f'{raw_key!r}: {type(value).__name__}')
        key = _strip_wrappers(raw_key)
        if _DROPPED.fullmatch(key) or is_rebuilt_buffer(key):
            dropped.append(raw_key)
            continue
        if key in _EXACT:
            new_key = _EXACT[key]
        else:
            new_key = None
            for old, new in _PREFIXES:
                if key.startswith(old):
                    rest = key[len(old):]
                    if _GRAMMAR[old].fullmatch(rest):
                        if old == 'fusion.':
                            rest = re.sub(r'^porj_linear\.', 'proj.', rest)
                        new_key = new + rest
                    break
            if new_key is None:
                unknown.append(raw_key)
                continue
        if new_key in converted:
            raise ValueError(f'state_dict: two keys map to {new_key!r} '
                             f'(second one: {raw_key!r})')
        converted[new_key] = value
    if unknown:
        raise ValueError(
            f'state_dict: {len(unknown)} key(s) are not part of the official '
            f'SkySense layout: {_preview(sorted(unknown))}')
    return converted, sorted(dropped)


def to_official_state_dicts(
    state_dict: Mapping[str, torch.Tensor]
) -> Dict[str, Dict[str, torch.Tensor]]:
    """Inverse of :func:`convert_official_state_dict`, split by file.

    Maps a skysense_mm ``SkySense`` state dict back to the official names
    and distributes the keys over :data:`OFFICIAL_FILES` (``ctpe`` goes with
    the S2 backbone, as in the release). Rebuilt buffers and keys with no
    official counterpart (:data:`NOT_RELEASED_KEYS`) are left out. Used to
    write test fixtures and to export weights in the official layout.

    Args:
        state_dict (Mapping[str, Tensor]): A skysense_mm state dict.

    Returns:
        dict[str, dict[str, Tensor]]: ``{file_name: official_state_dict}``
        for the files that received at least one key.

    Raises:
        ValueError: If a key has no official counterpart (all are named).
    """
    files = {
        'backbone_gep.': OFFICIAL_FILES[0],
        'backbone_s2.': OFFICIAL_FILES[1],
        'backbone_s1.': OFFICIAL_FILES[2],
        'fusion.': OFFICIAL_FILES[3],
        'head_s2.': OFFICIAL_FILES[4],
        'head_s1.': OFFICIAL_FILES[5],
    }
    out: Dict[str, Dict[str, torch.Tensor]] = {}
    unknown = []
    for key, value in state_dict.items():
        if is_rebuilt_buffer(key) or key in NOT_RELEASED_KEYS:
            continue
        if key == _EXACT['ctpe']:
            out.setdefault(OFFICIAL_FILES[1], {})['ctpe'] = value
            continue
        for old, new in _PREFIXES:
            if key.startswith(new):
                rest = key[len(new):]
                if old == 'fusion.':
                    rest = re.sub(r'^proj\.', 'porj_linear.', rest)
                out.setdefault(files[old], {})[old + rest] = value
                break
        else:
            unknown.append(key)
    if unknown:
        raise ValueError(
            f'state_dict: {len(unknown)} key(s) have no official '
            f'counterpart: {_preview(sorted(unknown))}')
    return out


def read_official_files(
        paths: Sequence[str],
        map_location='cpu') -> Tuple[Dict[str, torch.Tensor], List[str]]:
    """Load and merge official files (``torch.load(f)['model']``).

    Args:
        paths (Sequence[str]): Paths of the released ``.pth`` files.
        map_location: Passed to :func:`torch.load`.

    Returns:
        tuple[dict[str, Tensor], list[str]]: The merged state dict and the
        base names of the files read.

    Raises:
        ValueError: If a file holds no ``'model'`` (or ``'state_dict'``)
            dict of tensors, or a key appears in two files.
    """
    merged: Dict[str, torch.Tensor] = {}
    origin: Dict[str, str] = {}
    for path in paths:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
        sd = None
        if isinstance(ckpt, Mapping):
            for field in ('model', 'state_dict'):
                if isinstance(ckpt.get(field), Mapping):
                    sd = ckpt[field]
                    break
            if sd is None and ckpt and all(
                    torch.is_tensor(v) for v in ckpt.values()):
                sd = ckpt
        if sd is None:
            raise ValueError(
                f'src {path!r}: expected a dict with a "model" state dict '
                '(official SkySense file)')
        for key, value in sd.items():
            if key in merged:
                raise ValueError(f'src: key {key!r} is in both '
                                 f'{origin[key]!r} and {path!r}')
            merged[key] = value
            origin[key] = path
    return merged, [osp.basename(p) for p in paths]


def save_checkpoint_atomic(checkpoint: dict, path: str) -> None:
    """``torch.save`` to a temporary file beside ``path``, then rename.

    Args:
        checkpoint (dict): Object to save.
        path (str): Destination; never left half-written.
    """
    dirname = osp.dirname(osp.abspath(path))
    os.makedirs(dirname, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix='.' + osp.basename(path) + '.', suffix='.tmp', dir=dirname)
    try:
        with os.fdopen(fd, 'wb') as f:
            torch.save(checkpoint, f)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


class StateDictDiff:
    """Differences between a model and a state dict.

    Rebuilt buffers (:data:`REBUILT_BUFFER_NAMES`) are ignored on both
    sides; :data:`NOT_RELEASED_KEYS` missing from the state dict are kept
    apart in ``not_released``.

    Args:
        missing (list[str]): Model keys absent from the state dict.
        unexpected (list[str]): State-dict keys the model does not have.
        shape_mismatch (list[tuple]): ``(key, model_shape, ckpt_shape)``.
        not_released (list[str]): Missing keys with no official
            counterpart.
    """

    def __init__(self, missing, unexpected, shape_mismatch, not_released):
        self.missing = list(missing)
        self.unexpected = list(unexpected)
        self.shape_mismatch = list(shape_mismatch)
        self.not_released = list(not_released)

    @property
    def ok(self) -> bool:
        """True when keys and shapes agree."""
        return not (self.missing or self.unexpected or self.shape_mismatch)

    def describe(self) -> str:
        """Human-readable list of the keys that differ."""
        parts = []
        if self.missing:
            parts.append(f'{len(self.missing)} missing in checkpoint: '
                         f'{_preview(self.missing)}')
        if self.unexpected:
            parts.append(f'{len(self.unexpected)} unexpected in checkpoint: '
                         f'{_preview(self.unexpected)}')
        if self.shape_mismatch:
            items = [f'{k} (model {tuple(a)} vs checkpoint {tuple(b)})'
                     for k, a, b in self.shape_mismatch]
            parts.append(f'{len(items)} with another shape: '
                         f'{_preview(items)}')
        return '; '.join(parts) if parts else 'state dict matches the model'


def _pos_embed_tokens(shape) -> Optional[Tuple[int, int]]:
    """(side, extra) if ``shape`` is a ViT pos_embed (1, extra + side^2, C)."""
    if len(shape) != 3 or shape[0] != 1:
        return None
    for extra in (1, 0):
        side = int(round((shape[1] - extra)**0.5))
        if side > 0 and side * side == shape[1] - extra:
            return side, extra
    return None


def _resize_pos_embed(pos_embed: torch.Tensor, shape) -> torch.Tensor:
    """Bicubic resize of a (1, 1 + s*s, C) pos_embed, as mmseg's ViT does."""
    src, dst = _pos_embed_tokens(pos_embed.shape), _pos_embed_tokens(shape)
    if src is None or dst is None or src[1] != dst[1] or (pos_embed.shape[2]
                                                          != shape[2]):
        return pos_embed
    (s_in, extra), s_out = src, dst[0]
    cls, grid = pos_embed[:, :extra], pos_embed[:, extra:]
    grid = grid.reshape(1, s_in, s_in, -1).permute(0, 3, 1, 2)
    grid = F.interpolate(
        grid.float(), size=(s_out, s_out), mode='bicubic',
        align_corners=False).to(pos_embed.dtype)
    grid = grid.flatten(2).transpose(1, 2)
    return torch.cat([cls, grid], dim=1)


def diff_state_dict(model: nn.Module,
                    state_dict: Mapping[str, torch.Tensor]) -> StateDictDiff:
    """Compare ``state_dict`` with ``model.state_dict()`` by key and shape.

    Args:
        model (nn.Module): The model (any device, ``meta`` included).
        state_dict (Mapping[str, Tensor]): Checkpoint state dict.

    Returns:
        StateDictDiff: Missing, unexpected and shape-mismatched keys.
    """
    own = {
        k: v
        for k, v in model.state_dict().items() if not is_rebuilt_buffer(k)
    }
    ckpt = {k: v for k, v in state_dict.items() if not is_rebuilt_buffer(k)}
    missing = sorted(set(own) - set(ckpt))
    not_released = [k for k in missing if k in NOT_RELEASED_KEYS]
    missing = [k for k in missing if k not in NOT_RELEASED_KEYS]
    unexpected = sorted(set(ckpt) - set(own))
    mismatch = [(k, tuple(own[k].shape), tuple(ckpt[k].shape))
                for k in sorted(set(own) & set(ckpt))
                if tuple(own[k].shape) != tuple(ckpt[k].shape)]
    return StateDictDiff(missing, unexpected, mismatch, not_released)


def load_converted_state_dict(model: nn.Module,
                              state_dict: Mapping[str, torch.Tensor],
                              strict: bool = True,
                              resize_pos_embed: bool = True) -> StateDictDiff:
    """Load a (converted) checkpoint, saying which keys differ.

    ViT ``pos_embed`` tensors of another token count are resized (bicubic,
    as mmseg's ``VisionTransformer`` does at run time). Rebuilt buffers in
    the checkpoint are ignored (the model's own are kept). On a model on
    the ``meta`` device the tensors are assigned (``assign=True``).

    Args:
        model (nn.Module): Target model.
        state_dict (Mapping[str, Tensor]): skysense_mm state dict, e.g. the
            ``'state_dict'`` of a file written by
            ``tools/model_converters/skysense_official2mm.py``.
        strict (bool): Raise if keys or shapes differ (not counting
            rebuilt buffers and :data:`NOT_RELEASED_KEYS`).
        resize_pos_embed (bool): Resize ``*pos_embed`` of another length.

    Returns:
        StateDictDiff: What differed (after the pos_embed resize).

    Raises:
        ValueError: If ``strict`` and the checkpoint belongs to another
            architecture; the message names the differing keys.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f'model must be an nn.Module, got '
                        f'{type(model).__name__}')
    sd = {k: v for k, v in state_dict.items() if not is_rebuilt_buffer(k)}
    own = model.state_dict()
    if resize_pos_embed:
        for key, value in sd.items():
            if (key.endswith('pos_embed') and key in own
                    and own[key].shape != value.shape):
                sd[key] = _resize_pos_embed(value, own[key].shape)
    diff = diff_state_dict(model, sd)
    if strict and not diff.ok:
        raise ValueError(
            'checkpoint does not match the model architecture: ' +
            diff.describe())
    mismatched = {k for k, _, _ in diff.shape_mismatch}
    loadable = {k: v for k, v in sd.items() if k not in mismatched}
    on_meta = any(t.is_meta for t in own.values())
    model.load_state_dict(loadable, strict=False, assign=on_meta)
    return diff


def parse_checkpoint_manifest(path: str) -> List[Tuple[str, str, tuple]]:
    """Read ``official_checkpoint_manifest.tsv`` (``file  key  AxBxC``).

    Args:
        path (str): Path of the manifest; ``#`` lines are comments.

    Returns:
        list[tuple[str, str, tuple[int, ...]]]: ``(file, key, shape)`` rows.

    Raises:
        ValueError: On a malformed line (its number is given).
    """
    rows = []
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip('\n')
            if not line.strip() or line.startswith('#'):
                continue
            fields = line.split('\t')
            if len(fields) != 3:
                raise ValueError(f'{path}:{lineno}: expected 3 tab-separated'
                                 f' fields, got {len(fields)}')
            try:
                shape = tuple(int(s) for s in fields[2].split('x'))
            except ValueError:
                raise ValueError(f'{path}:{lineno}: bad shape '
                                 f'{fields[2]!r}') from None
            rows.append((fields[0], fields[1], shape))
    return rows


def _preview(items: Iterable[str], limit: int = 10) -> str:
    items = list(items)
    text = ', '.join(items[:limit])
    if len(items) > limit:
        text += f', ... ({len(items) - limit} more)'
    return text
