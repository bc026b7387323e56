"""Resume of SkySense pre-training (https://arxiv.org/abs/2312.10115) under
FSDP: mmengine's ``FlexibleRunner`` + ``FSDPStrategy(state_dict_cfg='full')``
(the wrapper, wrap policy and ``ShardedGradClipOptimWrapper`` of
configs/pretrain/skysense_paper_pretrain_fsdp.py), 2 gloo processes on CPU
through tools/dist_train.sh, the tiny deterministic set-up of
test_pretrain_dist.py (its config, helpers and demo world are reused).

Three runs: 4 iterations uninterrupted (checkpoint every 2); 2 iterations;
then ``--resume`` of the second work dir to 4 iterations. The logged losses
and gradient norms of iterations 3-4 and the final full checkpoint (student,
teacher, geo-context prototypes, L_CL centres, optimizer momentum) of the
resumed run equal the uninterrupted run's exactly (bit-identical), and so do
the unsharded buffers (prototypes, centres) each rank holds at the end.

The configs use ``ResumableFSDPStrategy``: mmengine 0.10.7's
``FSDPStrategy`` cannot load the optimizer state of a checkpoint with torch
>= 2.1 (shown first, in one process, by the first test).
"""
import os.path as osp
import subprocess
from types import SimpleNamespace

import pytest
import torch
import torch.distributed as dist
from mmengine._strategy import FSDPStrategy
from mmengine.optim import OptimWrapper
from torch import nn
from torch.distributed.fsdp import (FullOptimStateDictConfig,
                                    FullStateDictConfig,
                                    FullyShardedDataParallel, StateDictType)

from skysense_mm.models.selfsup.fsdp import ResumableFSDPStrategy

from conftest import ROOT, TOOLS
from test_pretrain_dist import (FSDP, _env, _logged, _write_config,  # noqa
                                world)

ITERS = ['train_cfg.max_iters={}', 'default_hooks.checkpoint.interval=2']


def _dist_train(cfg, work_dir, iters, port, *extra):
    return subprocess.Popen(
        ['bash', osp.join(TOOLS, 'dist_train.sh'), cfg, '2', '--work-dir',
         work_dir, *extra, '--cfg-options', ITERS[0].format(iters),
         ITERS[1]],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        cwd=ROOT, env=_env(osp.dirname(cfg), port))


def _wait(proc):
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out[-4000:]
    return out


def test_upstream_fsdp_strategy_cannot_load_optimizer_state():
    """mmengine's ``FSDPStrategy.load_optim_state_dict`` passes the
    arguments of ``FSDP.optim_state_dict_to_load`` in torch < 2.1 order;
    ``ResumableFSDPStrategy``'s loads the full optimizer state (1 process,
    gloo, CPU)."""
    dist.init_process_group('gloo', store=dist.HashStore(), rank=0,
                            world_size=1)
    try:
        torch.manual_seed(0)
        model = FullyShardedDataParallel(
            nn.Linear(4, 2), device_id=torch.device('cpu'),
            use_orig_params=True)
        FullyShardedDataParallel.set_state_dict_type(
            model, StateDictType.FULL_STATE_DICT,
            FullStateDictConfig(rank0_only=True, offload_to_cpu=True),
            FullOptimStateDictConfig(rank0_only=True, offload_to_cpu=True))
        optim = OptimWrapper(
            torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9))
        model(torch.ones(3, 4)).sum().backward()
        optim.step()
        saved = FullyShardedDataParallel.optim_state_dict(model, optim)
        fresh = OptimWrapper(
            torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9))
        strategy = SimpleNamespace(model=model, optim_wrapper=fresh)
        with pytest.raises(TypeError, match='unhashable'):
            FSDPStrategy.load_optim_state_dict(strategy, saved)
        ResumableFSDPStrategy.load_optim_state_dict(strategy, saved)
        for p in model.parameters():
            # momentum buffer after one step = the gradient
            assert torch.equal(fresh.optimizer.state[p]['momentum_buffer'],
                               optim.optimizer.state[p]['momentum_buffer'])
            assert torch.equal(fresh.optimizer.state[p]['momentum_buffer'],
                               p.grad)
    finally:
        dist.destroy_process_group()


def test_fsdp_resume_reproduces_uninterrupted_run(world, tmp_path):
    cfg = _write_config(str(tmp_path), world, 2, FSDP)
    full, cut = str(tmp_path / 'full'), str(tmp_path / 'cut')
    # the uninterrupted and the interrupted run side by side
    procs = [_dist_train(cfg, full, 4, '29531'),
             _dist_train(cfg, cut, 2, '29532')]
    for p in procs:
        _wait(p)
    assert osp.isfile(osp.join(cut, 'iter_2.pth'))
    assert not osp.exists(osp.join(cut, 'iter_4.pth'))
    out = _wait(_dist_train(cfg, cut, 4, '29533', '--resume'))
    assert 'resumed epoch: 0, iter: 2' in out

    full_log, cut_log = _logged(full), _logged(cut)
    assert sorted(full_log) == sorted(cut_log) == [1, 2, 3, 4]
    for it in (3, 4):
        assert {'loss_pix_hr', 'loss_img_fused', 'loss_align',
                'grad_norm'} <= set(full_log[it])
        # exact: same ops on the same data in the same order
        assert cut_log[it] == full_log[it], it

    def load(d, name):
        return torch.load(osp.join(d, name), weights_only=True)

    ref, res = load(full, 'iter_4.pth'), load(cut, 'iter_4.pth')
    assert ref['state_dict'].keys() == res['state_dict'].keys()
    for key, v in ref['state_dict'].items():
        assert torch.equal(res['state_dict'][key], v), key
    for key in ('teacher.backbone.backbone_hr.patch_embed.projection.weight',
                'teacher.backbone.geo_prototypes.prototypes',
                'student.backbone.geo_prototypes.prototypes',
                'cl_losses.pix_hr.center'):
        assert key in ref['state_dict'], key
    # optimizer (SGD momentum buffers, gathered full by state_dict_cfg)
    ref_opt = ref['optimizer']['state']
    res_opt = res['optimizer']['state']
    assert ref_opt.keys() == res_opt.keys() and len(ref_opt) > 0
    for k in ref_opt:
        for name, v in ref_opt[k].items():
            if torch.is_tensor(v):
                assert torch.equal(res_opt[k][name], v), (k, name)
    # each rank's unsharded buffers at the end of the resumed run
    for rank in (0, 1):
        a, b = load(full, f'rank{rank}.pth'), load(cut, f'rank{rank}.pth')
        assert a.keys() == b.keys()
        for key in a:
            assert torch.equal(a[key], b[key]), (rank, key)
    # not vacuous: iterations 3-4 moved the teacher and the prototypes
    mid = load(cut, 'iter_2.pth')['state_dict']
    for key in ('teacher.backbone.geo_prototypes.prototypes',
                'teacher.backbone.backbone_hr.patch_embed.projection.weight'):
        assert (ref['state_dict'][key] - mid[key]).abs().max() > 1e-4, key
