"""Dataset of SkySense pre-training samples (HR + S2/S1 time series).

SkySense (https://arxiv.org/abs/2312.10115) pre-trains on HR RGB images
paired with Sentinel-2 and Sentinel-1 time series of the same ground. The
on-disk format is documented in ``docs/pretrain_data.md``; reading is done
by the first pipeline transform, ``LoadSkySensePretrainSample``.
"""
import os.path as osp
from typing import List, Optional, Sequence, Union

from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from skysense_mm.registry import DATASETS, TRANSFORMS
from .pretrain_format import (PretrainSampleError, index_sample,
                              list_sample_ids)

__all__ = ['SkySensePretrainDataset']


@DATASETS.register_module()
class SkySensePretrainDataset(BaseDataset):
    """Index of a folder of pre-training samples.

    Indexing only lists files (nothing is decoded); the pipeline's first
    transform (``LoadSkySensePretrainSample``) reads them. A sample that
    fails to load raises :class:`PretrainSampleError` (file and field
    named). With ``on_error='fail'`` the error propagates; with
    ``on_error='skip'`` it is counted in ``num_skipped`` (per process: each
    dataloader worker keeps its own count), logged as a warning and another
    random index is drawn — never a zero-filled sample. Use
    ``tools/dataset_converters/check_pretrain_data.py`` to list every bad
    sample before training.

    Args:
        data_root (str): Folder holding one sub-folder per sample.
        ann_file (str): Split file (sample ids, one per line), relative to
            ``data_root`` or absolute; ``''`` indexes every sample folder.
            Default: ``''``.
        pipeline (list): Transforms; the first one should be
            ``LoadSkySensePretrainSample``.
        on_error (str): ``'fail'`` or ``'skip'``. Default: ``'fail'``.
        max_refetch (int): Maximum number of redraws of one ``__getitem__``
            with ``on_error='skip'``. Default: 100.
        **kwargs: Other :class:`mmengine.dataset.BaseDataset` arguments.
    """

    METAINFO = dict(modalities=('hr', 's2', 's1'))

    def __init__(self,
                 data_root: str,
                 ann_file: str = '',
                 pipeline: Sequence[Union[dict, callable]] = (),
                 on_error: str = 'fail',
                 max_refetch: int = 100,
                 **kwargs):
        if on_error not in ('fail', 'skip'):
            raise ValueError(
                f"on_error must be 'fail' or 'skip', got {on_error!r}")
        self.on_error = on_error
        self.num_skipped = 0
        self.skipped: List[str] = []
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            # built here so that skysense_mm transforms resolve without a
            # scope prefix (mmengine's Compose only knows its root registry)
            pipeline=[
                TRANSFORMS.build(t) if isinstance(t, dict) else t
                for t in pipeline
            ],
            max_refetch=max_refetch,
            **kwargs)

    def load_data_list(self) -> List[dict]:
        """List the samples of the split file (or of ``data_root``)."""
        # mmengine's BaseDataset has already joined ann_file to data_root
        ann_file = osp.abspath(self.ann_file) if self.ann_file else ''
        ids = list_sample_ids(self.data_root, ann_file)
        return [index_sample(self.data_root, i) for i in ids]

    def __getitem__(self, idx: int) -> Optional[dict]:
        """Return the processed sample ``idx``, applying ``on_error``."""
        if not self._fully_initialized:
            self.full_init()
        for _ in range(self.max_refetch + 1):
            try:
                data = self.prepare_data(idx)
            except PretrainSampleError as err:
                if self.on_error == 'fail':
                    raise
                self.num_skipped += 1
                self.skipped.append(str(err))
                print_log(
                    f'skipping bad sample (skipped so far: '
                    f'{self.num_skipped}): {err}',
                    logger='current',
                    level=30)
                idx = self._rand_another()
                continue
            if data is None:  # a transform filtered the sample out
                idx = self._rand_another()
                continue
            return data
        raise RuntimeError(
            f'no loadable sample after {self.max_refetch + 1} draws in '
            f'{self.data_root}; last skipped: '
            f'{self.skipped[-1] if self.skipped else None}')
