"""skysense_mm modules are reachable from stock MMSeg / MMDet / MMRotate /
MMPretrain configs through ``custom_imports`` + ``type='skysense_mm.X'``.

The builds run in a fresh interpreter that never imports skysense_mm itself:
only the config's ``custom_imports`` does.
"""
import json
import os.path as osp
import subprocess
import sys
import textwrap

import pytest

from conftest import ROOT

CFG_DIR = osp.join(ROOT, 'tests', 'data', 'stock_configs')

BUILD_AND_RUN = textwrap.dedent('''
    import json, sys
    import torch
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    assert 'skysense_mm' not in sys.modules
    cfg = Config.fromfile(sys.argv[1])
    assert 'skysense_mm' in sys.modules  # imported by custom_imports
    init_default_scope(cfg.default_scope)
    from mmengine.registry import MODELS
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.train()
    lib = cfg.default_scope
    if lib == 'mmseg':
        from mmseg.structures import SegDataSample
        from mmengine.structures import PixelData
        samples = []
        for _ in range(2):  # BN in the pooling branch needs > 1 value
            sample = SegDataSample(gt_sem_seg=PixelData(
                data=torch.randint(0, 19, (1, 64, 64))))
            sample.set_metainfo(dict(img_shape=(64, 64), pad_shape=(64, 64)))
            samples.append(sample)
        data = dict(inputs=[torch.randint(0, 255, (3, 64, 64)).float()] * 2,
                    data_samples=samples)
    elif lib == 'mmdet':
        from mmdet.testing import demo_mm_inputs
        data = demo_mm_inputs(2, [[3, 64, 64], [3, 64, 64]], num_classes=80)
    elif lib == 'mmrotate':
        from mmrotate.testing import demo_mm_inputs
        data = demo_mm_inputs(2, [[3, 64, 64], [3, 64, 64]], num_classes=15,
                              use_box_type=True)
    else:
        from mmpretrain.structures import DataSample
        data = dict(inputs=[torch.randint(0, 255, (3, 64, 64)).float()] * 2,
                    data_samples=[DataSample().set_gt_label(1),
                                  DataSample().set_gt_label(3)])
    data = model.data_preprocessor(data, True)
    losses = model(**data, mode='loss')
    total = sum(v.sum() if isinstance(v, torch.Tensor) else sum(x.sum() for x in v)
                for k, v in losses.items() if 'loss' in k)
    total.backward()
    bb = model.backbone
    print(json.dumps(dict(
        model=type(model).__name__, backbone=type(bb).__module__ + '.' + type(bb).__name__,
        loss=float(total),
        backbone_grad=all(p.grad is not None for p in bb.parameters() if p.requires_grad))))
''')


@pytest.mark.parametrize('cfg_file, model_name', [
    ('mmseg_upernet.py', 'EncoderDecoder'),
    ('mmdet_faster_rcnn.py', 'FasterRCNN'),
    ('mmrotate_oriented_rcnn.py', 'FasterRCNN'),  # mmrotate reuses mmdet's
    ('mmpretrain_classifier.py', 'ImageClassifier'),
])
def test_backbone_in_stock_config(cfg_file, model_name):
    res = subprocess.run(
        [sys.executable, '-c', BUILD_AND_RUN, osp.join(CFG_DIR, cfg_file)],
        capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert res.returncode == 0, res.stderr[-4000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out['model'] == model_name
    assert out['backbone'] == \
        'skysense_mm.models.backbones.swin_v2.SkySenseSwinV2'
    assert out['loss'] > 0 and out['backbone_grad']


def test_registry_nodes_are_children_of_mmengine_roots():
    import mmengine.registry as root
    from skysense_mm import registry
    for name in registry.__all__:
        node = getattr(registry, name)
        assert node.scope == 'skysense_mm'
        assert node.parent is getattr(root, name)
        assert root_child(node) is node


def root_child(node):
    return node.parent._children.get('skysense_mm')
