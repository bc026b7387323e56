"""The shared schedules in configs/_base_/schedules/ (SkySense dense
fine-tuning, https://arxiv.org/abs/2312.10115): every full benchmark config
resolves to exactly the optimizer / scheduler / loop / checkpoint values it
had written out before they were factored out (hard-coded here), plus the
layer-wise lr decay of the iSAID and Potsdam configs and the change
visualization hook of the LEVIR-CD and OSCD configs (the two intended
changes)."""
import os.path as osp

import pytest
from mmengine.config import Config

from conftest import ROOT

B = osp.join(ROOT, 'configs', 'benchmarks')
ISAID = osp.join(B, 'seg', 'isaid',
                 'skysense_swinv2-huge_upernet_80k_isaid-896x896.py')
POTSDAM = osp.join(B, 'seg', 'potsdam',
                   'skysense_swinv2-huge_upernet_80k_potsdam-512x512.py')
LEVIR = osp.join(B, 'cd', 'levircd',
                 'skysense_swinv2-huge_siamese-upernet_40k_levircd-256x256.py')
OSCD = osp.join(B, 'cd', 'oscd',
                'skysense_vit-large-s2_siamese-upernet_10k_oscd-96x96.py')


def _schedule(lr, wd, warmup, iters):
    return [
        dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0,
             end=warmup),
        dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False,
             begin=warmup, end=iters)]


def _hooks(interval, vis=None, **ckpt):
    return dict(
        timer=dict(type='IterTimerHook'),
        logger=dict(type='LoggerHook', interval=50,
                    log_metric_by_epoch=False),
        param_scheduler=dict(type='ParamSchedulerHook'),
        checkpoint=dict(type='CheckpointHook', by_epoch=False,
                        interval=interval, max_keep_ckpts=2, **ckpt),
        sampler_seed=dict(type='DistSamplerSeedHook'),
        visualization=vis or dict(type='SegVisualizationHook'))


LAYER_DECAY = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999),
                   weight_decay=0.01),
    constructor='skysense_mm.LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.9, num_layers=None))

CASES = {
    ISAID: (LAYER_DECAY, _schedule(6e-5, 0.01, 1500, 80000), 80000, 8000,
            _hooks(8000, save_best='mIoU')),
    POTSDAM: (LAYER_DECAY, _schedule(6e-5, 0.01, 1500, 80000), 80000, 8000,
              _hooks(8000, save_best='mF1')),
    LEVIR: (dict(type='OptimWrapper',
                 optimizer=dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999),
                                weight_decay=0.01),
                 clip_grad=None),
            _schedule(6e-5, 0.01, 1500, 40000), 40000, 4000,
            _hooks(4000, save_best='F1', rule='greater',
                   vis=dict(type='skysense_mm.MultiBandSegVisualizationHook',
                            rgb_channels=(3, 4, 5)))),
    OSCD: (dict(type='OptimWrapper',
                optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999),
                               weight_decay=0.05)),
           _schedule(1e-4, 0.05, 500, 10000), 10000, 1000,
           _hooks(1000, save_best='F1', rule='greater',
                  vis=dict(type='skysense_mm.MultiBandSegVisualizationHook',
                           rgb_channels=(12, 11, 10)))),
}


@pytest.mark.parametrize('path', list(CASES), ids=osp.basename)
def test_resolved_schedule(path):
    optim, sched, iters, val, hooks = CASES[path]
    cfg = Config.fromfile(path)
    assert cfg.optim_wrapper.to_dict() == optim
    assert [s.to_dict() for s in cfg.param_scheduler] == sched
    assert cfg.train_cfg.to_dict() == dict(
        type='IterBasedTrainLoop', max_iters=iters, val_interval=val)
    assert cfg.default_hooks.to_dict() == hooks
    assert cfg.env_cfg.cudnn_benchmark is True
