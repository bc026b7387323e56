"""iSAID semantic segmentation for the SkySense benchmark
(https://arxiv.org/abs/2312.10115, Tab. 2a: UperNet, mIoU 70.91).

iSAID (Zamir et al., CVPRW 2019) has 15 object classes plus background. The
official devkit layout (CAPTAIN-WHU/iSAID_Devkit) stores, per image
``<split>/images/Pxxxx.png``, a semantic colour mask
``Pxxxx_instance_color_RGB.png`` and an instance id mask
``Pxxxx_instance_id_RGB.png``. The colour of class ``i`` is
``ISAID_PALETTE[i]``; it is the devkit's colour map as used by the reference
converters: open-mmlab/mmsegmentation ``tools/dataset_converters/isaid.py``
(``iSAID_palette``, RGB) and lxtGH/PFSegNets ``tools/split_iSAID.py``
(``mask_mapping``, the same colours in BGR order).
"""
import os.path as osp

from skysense_mm.registry import DATASETS
from .seg_base import CheckedSegDataset

ISAID_CLASSES = ('background', 'ship', 'store_tank', 'baseball_diamond',
                 'tennis_court', 'basketball_court', 'Ground_Track_Field',
                 'Bridge', 'Large_Vehicle', 'Small_Vehicle', 'Helicopter',
                 'Swimming_pool', 'Roundabout', 'Soccer_ball_field', 'plane',
                 'Harbor')
# RGB colour of class i (mmsegmentation tools/dataset_converters/isaid.py,
# iSAID_palette; PFSegNets tools/split_iSAID.py lists the same in BGR).
ISAID_PALETTE = ((0, 0, 0), (0, 0, 63), (0, 63, 63), (0, 63, 0), (0, 63, 127),
                 (0, 63, 191), (0, 63, 255), (0, 127, 63), (0, 127, 127),
                 (0, 0, 127), (0, 0, 191), (0, 0, 255), (0, 191, 127),
                 (0, 127, 191), (0, 127, 255), (0, 100, 155))

DEVKIT_COLOR_SUFFIX = '_instance_color_RGB.png'
DEVKIT_ID_SUFFIX = '_instance_id_RGB.png'


@DATASETS.register_module()
class ISAIDDataset(CheckedSegDataset):
    """iSAID, 16 classes (background + 15 objects), ignore 255 (padding).

    Reads either layout:

    * ``label_format='color'`` (default): the official devkit layout, image
      ``Pxxxx.png`` and colour label ``Pxxxx_instance_color_RGB.png`` (may be
      the same folder; the ``_instance_*`` masks are not listed as images).
      Each sample carries ``label_palette=ISAID_PALETTE`` so that
      ``skysense_mm.LoadCheckedSegAnnotations`` decodes the colours.
    * ``label_format='index'``: the tree written by
      ``tools/dataset_converters/isaid.py`` (896x896 tiles,
      ``img_dir/<split>/Pxxxx_<y0>_<y1>_<x0>_<x1>.png`` and index labels
      ``ann_dir/<split>/..._instance_color_RGB.png`` with values 0..15/255).

    The RSP/RVSA protocol followed by the paper averages the IoU over all 16
    classes including background.

    Args:
        label_format (str): ``'color'`` (devkit colour masks) or
            ``'index'`` (converter output); the file naming is the same.
        img_suffix (str): Defaults to ``'.png'``.
        seg_map_suffix (str): Defaults to ``'_instance_color_RGB.png'``.
        reduce_zero_label (bool): Must stay False (background is class 0).
        **kwargs: Passed to mmseg ``BaseSegDataset``.
    """
    METAINFO = dict(classes=ISAID_CLASSES,
                    palette=[list(c) for c in ISAID_PALETTE])

    def __init__(self,
                 label_format: str = 'color',
                 img_suffix: str = '.png',
                 seg_map_suffix: str = DEVKIT_COLOR_SUFFIX,
                 reduce_zero_label: bool = False,
                 **kwargs) -> None:
        if label_format not in ('color', 'index'):
            raise ValueError(f"label_format must be 'color' or 'index', got "
                             f'{label_format!r}')
        if reduce_zero_label:
            raise ValueError('iSAID: reduce_zero_label must be False '
                             '(class 0 is background, a real class)')
        self.label_format = label_format
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=False,
            **kwargs)

    def load_data_list(self) -> list:
        """The samples; with ``label_format='color'`` each carries the
        devkit colour map as ``label_palette``.

        Returns:
            list[dict]: The data infos.
        """
        data_list = super().load_data_list()
        if self.label_format == 'color':
            for info in data_list:
                info['label_palette'] = ISAID_PALETTE
        return data_list

    def _keep_image(self, img_path: str) -> bool:
        name = osp.basename(img_path)
        return not (name.endswith(DEVKIT_COLOR_SUFFIX)
                    or name.endswith(DEVKIT_ID_SUFFIX))
