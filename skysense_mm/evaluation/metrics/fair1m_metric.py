"""FAIR1M v2.0 evaluation and leaderboard submission for the SkySense
benchmark (https://arxiv.org/abs/2312.10115, Tab. 2b: Oriented R-CNN, mAP).

Predictions on split patches (ids ``<image>__<size>__<x>___<y>`` as written
by mmrotate's splitter and ``tools/dataset_converters/fair1m_split.py``) are
shifted back to full-image coordinates and merged with class-aware rotated
NMS (``mmcv.ops.nms_rotated``). The mAP is mmrotate's DOTA protocol (VOC
AP per class at IoU 0.5 on rotated boxes, mean over classes with ground
truth), computed on the full images against the official label XMLs when
``ann_dir`` is given, else on the patches as they come. The submission is
the official FAIR1M format: one XML per test image (the label schema with
``<probability>``), in a folder or a ``.zip``.
"""
import os
import os.path as osp
import re
import zipfile
from collections import Counter, OrderedDict
from typing import Dict, Iterable, List, Optional, Sequence

import numpy as np
from mmengine.logging import MMLogger

from skysense_mm.datasets.fair1m import fair1m_xml_string, parse_fair1m_xml
from skysense_mm.registry import METRICS
from skysense_mm.structures.rotated_boxes import (qboxes_to_rboxes,
                                                  rboxes_to_qboxes)

_PATCH_ID = re.compile(r'^(?P<name>.+)__(?P<size>\d+)__(?P<x>-?\d+)___'
                       r'(?P<y>-?\d+)$')


def parse_patch_id(img_id: str) -> tuple:
    """``'P1__1024__824___0'`` -> ``('P1', 824, 0)``; a full-image id
    (no patch suffix) -> ``(img_id, 0, 0)``."""
    m = _PATCH_ID.match(str(img_id))
    if m is None:
        return str(img_id), 0, 0
    return m.group('name'), int(m.group('x')), int(m.group('y'))


def merge_patch_detections(results: Iterable[dict],
                           iou_thr: Optional[float] = 0.1
                           ) -> Dict[str, dict]:
    """Merge patch detections into full-image detections.

    Args:
        results (Iterable[dict]): ``img_id`` (patch id), ``bboxes`` ``(k,
            5)`` rotated boxes in patch pixels, ``scores`` ``(k,)``,
            ``labels`` ``(k,)``.
        iou_thr (float, optional): IoU of the class-aware rotated NMS over
            the shifted boxes of one image; None keeps every box.

    Returns:
        dict: image name -> ``bboxes`` ``(n, 5)``, ``scores``, ``labels``
        (score-sorted), for every image seen (possibly with n = 0).
    """
    groups = OrderedDict()
    for res in results:
        name, x, y = parse_patch_id(res['img_id'])
        boxes = np.asarray(res['bboxes'], dtype=np.float32).reshape(-1, 5)
        boxes = boxes.copy()
        boxes[:, :2] += np.array([x, y], dtype=np.float32)
        parts = groups.setdefault(name, ([], [], []))
        parts[0].append(boxes)
        parts[1].append(np.asarray(res['scores'], np.float32).reshape(-1))
        parts[2].append(np.asarray(res['labels'], np.int64).reshape(-1))
    merged = OrderedDict()
    for name, (boxes, scores, labels) in groups.items():
        boxes, scores = np.concatenate(boxes), np.concatenate(scores)
        labels = np.concatenate(labels)
        if iou_thr is not None and len(boxes):
            keep = _nms_rotated_keep(boxes, scores, labels, iou_thr)
        else:
            keep = np.argsort(-scores, kind='stable')
        merged[name] = dict(bboxes=boxes[keep], scores=scores[keep],
                            labels=labels[keep])
    return merged


def _nms_rotated_keep(boxes, scores, labels, iou_thr) -> np.ndarray:
    import mmcv.ops  # patched for CPU labels by skysense_mm.utils.compat
    import torch
    _, keep = mmcv.ops.nms_rotated(
        torch.from_numpy(boxes), torch.from_numpy(scores), iou_thr,
        torch.from_numpy(labels))
    return keep.cpu().numpy()


def write_fair1m_submission(images: Dict[str, dict], classes: Sequence[str],
                            path: str, img_suffix: str = 'tif') -> List[str]:
    """Write one FAIR1M XML per image (folder, or zip if ``path`` ends in
    ``.zip``).

    Args:
        images (dict): image name -> ``bboxes`` (rotated), ``scores``,
            ``labels``.
        classes (Sequence[str]): Class names of the label indices.
        path (str): Output folder or ``.zip`` file.
        img_suffix (str): Image extension for ``<source><filename>``.

    Returns:
        list[str]: The XML file names written.
    """
    texts = OrderedDict()
    for name, det in images.items():
        qboxes = rboxes_to_qboxes(det['bboxes'])
        names = [classes[int(lab)] for lab in det['labels']]
        texts[f'{name}.xml'] = fair1m_xml_string(
            f'{name}.{img_suffix}', qboxes, names, det['scores'])
    if path.endswith('.zip'):
        if osp.dirname(path):
            os.makedirs(osp.dirname(path), exist_ok=True)
        with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as zf:
            for fname, text in texts.items():
                zf.writestr(fname, text)
    else:
        os.makedirs(path, exist_ok=True)
        for fname, text in texts.items():
            with open(osp.join(path, fname), 'w', encoding='utf-8') as f:
                f.write(text)
    return list(texts)


def rbbox_map(det_results: List[List[np.ndarray]], annotations: List[dict],
              iou_thr: float = 0.5, use_07_metric: bool = True,
              classes: Optional[Sequence[str]] = None, logger=None) -> tuple:
    """mmrotate's ``eval_rbbox_map`` with optional ignore fields.

    Runs in-process (``skysense_mm.utils.compat`` replaces the library's
    spawn pool by threads).

    Args:
        det_results (list[list[np.ndarray]]): Per image, per class ``(k,
            6)`` arrays ``(cx, cy, w, h, theta, score)``.
        annotations (list[dict]): Per image ``bboxes`` ``(n, 5)``,
            ``labels`` ``(n,)`` and optionally ``bboxes_ignore``,
            ``labels_ignore``.
        iou_thr (float): IoU for a true positive.
        use_07_metric (bool): VOC07 11-point AP (DOTA devkit) or area.
        classes (Sequence[str], optional): Names for the summary table.
        logger: Where the summary table goes (None: no table).

    Returns:
        tuple: (mAP over classes with ground truth, per-class dicts).
    """
    from mmrotate.evaluation.functional import eval_rbbox_map
    annotations = [
        dict(bboxes_ignore=np.zeros((0, 5), np.float32),
             labels_ignore=np.zeros((0, ), np.int64), **ann)
        if 'bboxes_ignore' not in ann else ann for ann in annotations
    ]
    mean_ap, eval_results = eval_rbbox_map(
        det_results, annotations, iou_thr=iou_thr,
        use_07_metric=use_07_metric, box_type='rbox', dataset=classes,
        logger='silent' if logger is None else logger)
    return float(mean_ap), eval_results


def _per_class(bboxes, scores, labels, num_classes) -> List[np.ndarray]:
    dets = np.hstack([np.asarray(bboxes, np.float32).reshape(-1, 5),
                      np.asarray(scores, np.float32).reshape(-1, 1)])
    labels = np.asarray(labels).reshape(-1)
    return [dets[labels == c] for c in range(num_classes)]


def _dota_metric_base():
    from mmrotate.evaluation import DOTAMetric
    return DOTAMetric


@METRICS.register_module()
class FAIR1MMetric(_dota_metric_base()):
    """FAIR1M mAP with patch merging and the official XML submission
    (https://arxiv.org/abs/2312.10115).

    Args:
        ann_dir (str, optional): Folder of the full-image label XMLs
            (official ``labelXml``). When set, the mAP is computed on the
            merged full images against them; otherwise on the inputs as they
            come (patches, with the labels the pipeline loaded). Without
            either (the test split), only the submission is written.
        merge_patches (bool): Merge patch predictions to full images.
        iou_thr (float): IoU of the merging rotated NMS (mmrotate: 0.1).
        submission_path (str, optional): Folder or ``.zip`` for the
            official submission XMLs (``tools/test.py --out`` sets it).
        img_suffix (str): Image extension in ``<source><filename>``.
        angle_version (str): Angle range of the ground-truth rotated boxes.
        **kwargs: ``DOTAMetric`` arguments (``iou_thrs``, ``eval_mode``,
            ``prefix``, ...); ``scale_ranges`` is not supported.
    """

    default_prefix: Optional[str] = 'fair1m'

    def __init__(self, ann_dir: Optional[str] = None,
                 merge_patches: bool = True, iou_thr: float = 0.1,
                 submission_path: Optional[str] = None,
                 img_suffix: str = 'tif', angle_version: str = 'le90',
                 **kwargs) -> None:
        if kwargs.get('scale_ranges') is not None:
            raise ValueError('FAIR1MMetric: scale_ranges is not supported')
        # DOTAMetric options this metric does not honour: refuse, not ignore
        unsupported = {'predict_box_type': 'rbox', 'format_only': False,
                       'outfile_prefix': None}
        for key, default in unsupported.items():
            if key in kwargs and kwargs[key] != default:
                raise ValueError(
                    f'FAIR1MMetric: {key}={kwargs[key]!r} is not supported '
                    '(rotated-box predictions only; use submission_path for '
                    'the submission)')
            kwargs.pop(key, None)
        if ann_dir is not None and not merge_patches:
            raise ValueError('FAIR1MMetric: ann_dir (full-image labels) needs '
                             'merge_patches=True')
        super().__init__(merge_patches=False, iou_thr=iou_thr, **kwargs)
        self.ann_dir = ann_dir
        self.merge = merge_patches
        self.submission_path = submission_path
        self.img_suffix = img_suffix
        self.angle_version = angle_version

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Keep predictions (and ground truth when the pipeline loaded it).

        Args:
            data_batch (dict): Unused.
            data_samples (Sequence[dict]): Packed samples with
                ``pred_instances`` and optionally ``gt_instances``.
        """
        for sample in data_samples:
            pred = sample['pred_instances']
            if pred['bboxes'].shape[-1] != 5:
                raise ValueError(
                    f'FAIR1MMetric: {sample.get("img_path", sample["img_id"])}'
                    ': predictions must be rotated boxes (cx, cy, w, h, a), '
                    f'got shape {tuple(pred["bboxes"].shape)}')
            result = dict(img_id=sample['img_id'],
                          bboxes=pred['bboxes'].cpu().numpy(),
                          scores=pred['scores'].cpu().numpy(),
                          labels=pred['labels'].cpu().numpy())
            ann = None
            gt = sample.get('gt_instances', None)
            if gt is not None and 'bboxes' in gt:
                ignored = sample['ignored_instances']
                ann = dict(labels=gt['labels'].cpu().numpy(),
                           bboxes=_rboxes_of(gt['bboxes'],
                                             self.angle_version),
                           bboxes_ignore=_rboxes_of(ignored['bboxes'],
                                                    self.angle_version),
                           labels_ignore=ignored['labels'].cpu().numpy())
            self.results.append((ann, result))

    def compute_metrics(self, results: list) -> dict:
        """Merge, write the submission if asked, and compute the mAP.

        Args:
            results (list): ``(ann or None, prediction)`` per input.

        Returns:
            dict: ``mAP`` and ``AP50`` (per ``iou_thrs``); empty when no
            labels exist.
        """
        logger = MMLogger.get_current_instance()
        classes = self.dataset_meta['classes']
        gts, preds = zip(*results)
        images = (merge_patch_detections(preds, self.iou_thr) if self.merge
                  else OrderedDict((str(p['img_id']), p) for p in preds))
        if self.submission_path:
            names = write_fair1m_submission(images, classes,
                                            self.submission_path,
                                            self.img_suffix)
            logger.info(f'FAIR1M submission: {len(names)} XML files written '
                        f'to {self.submission_path}')
        if self.ann_dir is not None:
            dets = [_per_class(d['bboxes'], d['scores'], d['labels'],
                               len(classes)) for d in images.values()]
            skipped = Counter()
            anns = [self._full_image_gt(name, skipped) for name in images]
            if skipped:
                logger.info(f'FAIR1MMetric: ground-truth objects skipped in '
                            f'{self.ann_dir}: {dict(skipped)}')
        elif all(g is not None for g in gts):
            dets = [_per_class(p['bboxes'], p['scores'], p['labels'],
                               len(classes)) for p in preds]
            anns = list(gts)
        else:
            logger.info('FAIR1MMetric: no labels (test split) and no '
                        'ann_dir: no mAP computed')
            return {}
        eval_results = OrderedDict()
        aps = []
        for thr in self.iou_thrs:
            mean_ap, _ = rbbox_map(dets, anns, thr, self.use_07_metric,
                                   classes, logger)
            aps.append(mean_ap)
            eval_results[f'AP{int(thr * 100):02d}'] = round(mean_ap, 4)
        eval_results['mAP'] = float(np.mean(aps))
        eval_results.move_to_end('mAP', last=False)
        return eval_results

    def _full_image_gt(self, name: str, skipped: Counter) -> dict:
        path = osp.join(self.ann_dir, f'{name}.xml')
        ann = parse_fair1m_xml(path, self.dataset_meta['classes'])
        skipped.update(reason for _, reason in ann['skipped'])
        return dict(bboxes=qboxes_to_rboxes(ann['qboxes'],
                                            self.angle_version),
                    labels=ann['labels'])


def _rboxes_of(boxes, angle_version: str = 'le90') -> np.ndarray:
    """Rotated ``(n, 5)`` numpy boxes of RotatedBoxes/QuadriBoxes/tensors."""
    boxes = getattr(boxes, 'tensor', boxes).cpu().numpy()
    if boxes.shape[-1] == 8:
        return qboxes_to_rboxes(boxes, angle_version)
    return boxes.reshape(-1, 5)
