"""Base of the single-image segmentation benchmark datasets of SkySense
(https://arxiv.org/abs/2312.10115).

mmseg's ``BaseSegDataset`` with two additions: a missing label file is an
error naming the image at construction time (instead of a crash later), and
every sample carries ``num_classes``/``ignore_index`` so that
``skysense_mm.LoadCheckedSegAnnotations`` can check label values without
repeating the class count in the pipeline.
"""
import os.path as osp
from typing import List

from mmseg.datasets import BaseSegDataset


class CheckedSegDataset(BaseSegDataset):
    """``BaseSegDataset`` that checks label files and annotates samples.

    Args:
        **kwargs: Passed to mmseg ``BaseSegDataset``.
    """

    def _keep_image(self, img_path: str) -> bool:
        """Whether a file found under the image folder is an image sample."""
        return True

    def load_data_list(self) -> List[dict]:
        """List the samples; raise ``FileNotFoundError`` naming the image
        whose label file is missing.

        Returns:
            list[dict]: The data infos.
        """
        data_list = [
            info for info in super().load_data_list()
            if self._keep_image(info['img_path'])
        ]
        num_classes = len(self.metainfo['classes'])
        for info in data_list:
            seg = info.get('seg_map_path')
            if seg is not None and not osp.isfile(seg):
                raise FileNotFoundError(
                    f'{info["img_path"]}: no label file {seg}')
            info['num_classes'] = num_classes
            info['ignore_index'] = self.ignore_index
        return data_list
