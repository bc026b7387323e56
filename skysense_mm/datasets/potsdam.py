"""ISPRS Potsdam semantic segmentation for the SkySense benchmark
(https://arxiv.org/abs/2312.10115, Tab. 2a: UperNet, mF1 93.99).

Reads the tree written by ``tools/dataset_converters/potsdam.py`` (the
layout of mmsegmentation's converter): ``img_dir/{train,val}/<i>_<j>_<x0>_
<y0>_<x1>_<y1>.png`` RGB crops and ``ann_dir/...`` labels with 0 =
boundary/undefined, 1..6 = the classes below; ``reduce_zero_label=True``
turns 0 into the ignore value 255 and the classes into 0..5.
"""
from skysense_mm.registry import DATASETS
from .seg_base import CheckedSegDataset

POTSDAM_CLASSES = ('impervious_surface', 'building', 'low_vegetation', 'tree',
                   'car', 'clutter')
# Official ISPRS colour (RGB) of each class above.
POTSDAM_PALETTE = ((255, 255, 255), (0, 0, 255), (0, 255, 255), (0, 255, 0),
                   (255, 255, 0), (255, 0, 0))


@DATASETS.register_module()
class PotsdamDataset(CheckedSegDataset):
    """ISPRS Potsdam, 6 classes including clutter, boundary ignored.

    The mF1 of the protocol averages the 5 classes without clutter: use
    ``skysense_mm.SegF1Metric(ignore_classes=('clutter',))``. To also drop
    clutter from training (the RSP/RVSA ``class5_ignore5`` variant), pass
    ``metainfo=dict(classes=POTSDAM_CLASSES[:5])``: mmseg's label map then
    sends clutter to 255.

    Args:
        img_suffix (str): Defaults to ``'.png'``.
        seg_map_suffix (str): Defaults to ``'.png'``.
        reduce_zero_label (bool): Defaults to True (0 = boundary/undefined).
        **kwargs: Passed to mmseg ``BaseSegDataset``.
    """
    METAINFO = dict(classes=POTSDAM_CLASSES,
                    palette=[list(c) for c in POTSDAM_PALETTE])

    def __init__(self,
                 img_suffix: str = '.png',
                 seg_map_suffix: str = '.png',
                 reduce_zero_label: bool = True,
                 **kwargs) -> None:
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=reduce_zero_label,
            **kwargs)
