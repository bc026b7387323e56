"""TeacherEMAHook under FSDP (SkySense pre-training,
https://arxiv.org/abs/2312.10115): 2 gloo processes on CPU wrap a small
student/teacher model with mmengine's MMFullyShardedDataParallel and
skysense_pretrain_wrap_policy; the EMA of the sharded model equals the EMA
of the unsharded one, on both ranks."""
import copy
import os
import os.path as osp

import torch
import torch.multiprocessing as mp
from torch import nn

PORT = '29641'


class _Toy(nn.Module):
    """Student (a linear 'embedding' outside any unit, a DINO head that the
    policy wraps, a buffer) and a perturbed deep-copy teacher."""

    def __init__(self):
        super().__init__()
        from skysense_mm.models.selfsup import DINOProjectionHead
        torch.manual_seed(0)
        embed = nn.Linear(5, 8)
        embed.register_buffer('protos', torch.randn(3, 4))
        self.student = nn.ModuleDict(
            dict(embed=embed,
                 heads=nn.ModuleDict(dict(hr=DINOProjectionHead(
                     8, 16, hidden_channels=12, bottleneck_channels=6,
                     num_layers=2)))))
        self.teacher = copy.deepcopy(self.student)
        self.teacher.requires_grad_(False)
        with torch.no_grad():
            for p in self.teacher.parameters():
                p.add_(torch.randn_like(p))
            self.teacher.embed.protos.zero_()

    def forward(self, x):
        return self.student['heads']['hr'](self.student['embed'](x)).sum()

    def ema_pairs(self):
        from skysense_mm.models.selfsup import SkySensePretrain
        return SkySensePretrain.ema_pairs(self)


def _worker(rank, world, out_dir):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=PORT,
                      OMP_NUM_THREADS='1')
    torch.distributed.init_process_group('gloo', rank=rank, world_size=world)
    import skysense_mm  # noqa: F401
    from mmengine.model import MMFullyShardedDataParallel
    from torch.distributed.fsdp import FullyShardedDataParallel as FSDP

    from skysense_mm.engine.hooks import TeacherEMAHook
    hook = TeacherEMAHook(base_momentum=0.9, final_momentum=1.0)
    plain = _Toy()
    hook.update(plain, 0, 10)
    expected = copy.deepcopy(plain.teacher.state_dict())

    model = MMFullyShardedDataParallel(
        module=_Toy(),
        auto_wrap_policy=dict(type='skysense_pretrain_wrap_policy'),
        use_orig_params=True,
        device_id=torch.device('cpu'))
    units = [n for n, m in model.named_modules() if isinstance(m, FSDP)]
    inner = model.module
    # root unit: student and teacher slices differ on a rank
    mismatched = sum(
        int(t.shape != s.shape)
        for s, t in zip(inner.ema_pairs()[0], inner.ema_pairs()[1]))
    model(torch.randn(2, 5)).backward()  # a real step's state
    hook.update(model, 0, 10)
    with FSDP.summon_full_params(model):
        got = {k: v.detach().clone()
               for k, v in inner.teacher.state_dict().items()}
    got = {k.replace('_fsdp_wrapped_module.', ''): v for k, v in got.items()}
    torch.save(dict(units=units, mismatched=mismatched, got=got,
                    expected=expected),
               osp.join(out_dir, f'rank{rank}.pth'))
    torch.distributed.destroy_process_group()


def test_fsdp_teacher_ema_matches_unsharded(tmp_path):
    mp.spawn(_worker, args=(2, str(tmp_path)), nprocs=2, join=True)
    res = [torch.load(str(tmp_path / f'rank{r}.pth')) for r in (0, 1)]
    for r in res:
        # one unit per DINO head (student and teacher) plus the root
        assert sorted(r['units']) == sorted([
            '', '_fsdp_wrapped_module.student.heads.hr',
            '_fsdp_wrapped_module.teacher.heads.hr'
        ]), r['units']
        assert r['got'].keys() == r['expected'].keys()
        for k in r['expected']:
            assert torch.allclose(r['got'][k], r['expected'][k],
                                  atol=1e-6), k
        # the buffer (prototypes) is copied from the student
        assert torch.count_nonzero(r['got']['embed.protos']) == 12
    # without the gather the root slices would not match on some rank
    assert max(r['mismatched'] for r in res) > 0
