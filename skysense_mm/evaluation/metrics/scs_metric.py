"""DynamicEarthNet scores (mIoU and semantic change segmentation, SCS) as the
official CodaLab evaluator computes them, for the SkySense benchmark
(https://arxiv.org/abs/2312.10115, Tab. 2c).

Re-implements aysim/dynnet ``codalab_eval/{evaluate.py, jaccard_index.py,
semantic_change_segmentation.py}`` (BENCHMARK_PROTOCOLS.md (a)) with 6
classes and ignore value 255:

- **mIoU**: one confusion matrix over all frames of all cubes; ground-truth
  255 pixels are dropped (their row removed); IoU averaged over the classes
  with a non-zero union.
- **SCS** over consecutive label months ``t, t+1`` of each cube:
  ``gt_change = gt_t != gt_t+1`` and ``pred_change = pred_t != pred_t+1`` on
  raw values (a pair with 255 on one side counts as change);
  **BC** = IoU of the change class of ``pred_change`` vs ``gt_change`` over
  all pixels; **SC** = mIoU of ``pred_t+1`` vs ``gt_t+1`` on the pixels where
  ``gt_change``, GT-255 rows removed, averaged over the classes present in
  that GT (``intersection + FN > 0``); **SCS** = (BC + SC) / 2. Both use
  confusion matrices accumulated over all cubes.
- Scores x100, rounded to ``decimals`` (1, as in ``scores.txt``).

The official evaluator pairs files ``i, i+1`` of the sorted GT list with
24 months per cube; here pairs are the consecutive months (sorted) present
for each cube, which is the same on the full release.
"""
import os
import os.path as osp
import shutil
import tempfile
import zipfile
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from skysense_mm.registry import METRICS

#: Class names of ``scores.txt`` (imp, agr, for, wet, soil, water).
SCORE_NAMES = ('imp', 'agr', 'for', 'wet', 'soil', 'water')
#: Length of the ``-YYYY_MM_01`` date suffix the evaluator strips.
DATE_SUFFIX_LEN = 11


def confusion(gt: np.ndarray, pred: np.ndarray, num_classes: int,
              ignore_index: int) -> np.ndarray:
    """Confusion matrix (rows GT, columns prediction) of size
    ``num_classes + 1``: value ``ignore_index`` goes to the last index, as
    in the official evaluator.

    Args:
        gt (np.ndarray): Ground truth.
        pred (np.ndarray): Prediction.
        num_classes (int): Number of classes.
        ignore_index (int): The ignore value.

    Returns:
        np.ndarray: ``(num_classes + 1, num_classes + 1)`` int64 counts.
    """
    n = num_classes + 1
    g = np.where(gt == ignore_index, num_classes, gt).astype(np.int64)
    p = np.where(pred == ignore_index, num_classes, pred).astype(np.int64)
    if g.size and (g.max() > num_classes or p.max() > num_classes):
        raise ValueError(f'values outside 0..{num_classes - 1} and '
                         f'{ignore_index}: gt {np.unique(g).tolist()}, '
                         f'pred {np.unique(p).tolist()}')
    return np.bincount((g * n + p).ravel(), minlength=n * n).reshape(n, n)


def _miou(conf: np.ndarray, count: str) -> Tuple[float, np.ndarray]:
    inter = conf.diagonal().astype(np.float64)
    fps = conf.sum(axis=0) - inter
    fns = conf.sum(axis=1) - inter
    unions = inter + fps + fns
    ious = inter / np.maximum(unions, 1e-15)
    n = np.count_nonzero(unions if count == 'union' else inter + fns)
    return (float(ious.sum() / n) if n else float('nan')), ious


def dynamicearthnet_scores(frames: Dict[str, Sequence[tuple]],
                           num_classes: int = 6,
                           ignore_index: int = 255) -> Dict[str, object]:
    """The official scores (fractions, not x100).

    Args:
        frames (dict): ``{cube_id: [(key, gt, pred), ...]}``; frames are
            sorted by ``key`` (the month) within each cube.
        num_classes (int): Defaults to 6.
        ignore_index (int): Defaults to 255.

    Returns:
        dict: ``mIoU``, ``IoU_per_class`` (array of ``num_classes``), ``SCS``,
        ``BC``, ``SC``, and per cube ``SCS_per_cube`` / ``BC_per_cube`` /
        ``SC_per_cube`` (dicts).
    """
    n = num_classes + 1
    keep = np.zeros((n, n), np.int64)
    keep[:num_classes] = 1  # remove the GT-ignore row
    total = np.zeros((n, n), np.int64)
    sc_total = np.zeros((n, n), np.int64)
    bc_total = np.zeros((2, 2), np.int64)
    per_cube = {}
    for cube, items in frames.items():
        items = sorted(items, key=lambda it: it[0])
        sc_conf = np.zeros((n, n), np.int64)
        bc_conf = np.zeros((2, 2), np.int64)
        for _, gt, pred in items:
            total += confusion(gt, pred, num_classes, ignore_index) * keep
        for (_, gt0, pred0), (_, gt1, pred1) in zip(items, items[1:]):
            gt_change = gt0 != gt1
            pred_change = pred0 != pred1
            sc_conf += confusion(gt1[gt_change], pred1[gt_change],
                                 num_classes, ignore_index) * keep
            bc_conf += np.bincount(
                (gt_change.astype(np.int64) * 2 + pred_change).ravel(),
                minlength=4).reshape(2, 2)
        sc_total += sc_conf
        bc_total += bc_conf
        per_cube[cube] = (_bc(bc_conf), _miou(sc_conf, 'present')[0])
    miou, ious = _miou(total, 'union')
    bc = _bc(bc_total)
    sc = _miou(sc_total, 'present')[0]
    return dict(
        mIoU=miou,
        IoU_per_class=ious[:num_classes],
        SCS=0.5 * (bc + sc),
        BC=bc,
        SC=sc,
        SCS_per_cube={k: 0.5 * (b + s) for k, (b, s) in per_cube.items()},
        BC_per_cube={k: b for k, (b, _) in per_cube.items()},
        SC_per_cube={k: s for k, (_, s) in per_cube.items()})


def _bc(conf: np.ndarray) -> float:
    tp, fp, fn = conf[1, 1], conf[0, 1], conf[1, 0]
    return float(tp / max(tp + fp + fn, 1e-15))


def frame_name(seg_map_path: str) -> str:
    """Submission PNG name of a frame: the label file's stem + ``.png``
    (``<dir>-YYYY_MM_01.png``), so that the evaluator's
    ``cube_id = name.split('.')[0][:-11]`` gives the label folder name.

    Args:
        seg_map_path (str): The one-hot label file of the frame.

    Returns:
        str: The PNG file name.
    """
    stem = osp.basename(seg_map_path).split('.')[0]
    if len(stem) <= DATE_SUFFIX_LEN:
        raise ValueError(f'{seg_map_path}: label name does not end in an '
                         '11-character date suffix (-YYYY_MM_01)')
    return stem + '.png'


def write_submission(path: str, preds: Dict[str, np.ndarray],
                     gts: Optional[Dict[str, np.ndarray]] = None,
                     num_classes: int = 6) -> str:
    """Write the CodaLab submission: one 8-bit grayscale PNG (values 0-5)
    per frame.

    ``path`` ending in ``.zip``: the PNGs at the root of the zip (CodaLab
    unpacks a submission into ``input/res``). Otherwise a folder with the
    PNGs in ``path/res/`` and, when ``gts`` is given, the GT in
    ``path/ref/``, i.e. the input folder of the official ``evaluate.py``.

    Args:
        path (str): ``.zip`` file or folder.
        preds (dict): ``{png name: (H, W) prediction}``.
        gts (dict, optional): ``{png name: (H, W) GT}`` (folder output only).
        num_classes (int): Predictions must be below it (the official
            evaluator refuses values >= 6). Defaults to 6.

    Returns:
        str: ``path``.
    """
    from PIL import Image
    for name, pred in preds.items():
        if pred.size and int(pred.max()) >= num_classes:
            raise ValueError(f'{name}: predictions must be 0-'
                             f'{num_classes - 1}, found {int(pred.max())}')
    if path.endswith('.zip'):
        tmp = tempfile.mkdtemp()
        try:
            with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as zf:
                for name, pred in sorted(preds.items()):
                    png = osp.join(tmp, name)
                    Image.fromarray(pred.astype(np.uint8)).save(png)
                    zf.write(png, name)
        finally:
            shutil.rmtree(tmp)
        return path
    for sub, maps in (('res', preds), ('ref', gts or {})):
        if not maps:
            continue
        os.makedirs(osp.join(path, sub), exist_ok=True)
        for name, arr in maps.items():
            Image.fromarray(arr.astype(np.uint8)).save(osp.join(path, sub,
                                                               name))
    return path


@METRICS.register_module()
class DynamicEarthNetMetric(BaseMetric):
    """mIoU, BC, SC and SCS of DynamicEarthNet, x100 as the official
    ``scores.txt``; see the module docstring.

    Frames are identified by their ``seg_map_path`` (the one-hot label):
    the cube is the label folder name (the evaluator's ``name[:-11]``), the
    month its date suffix. Predictions and labels are kept (uint8) until
    :meth:`compute_metrics` because SCS needs consecutive months of a cube.

    With ``submission_path`` set (``tools/test.py --out PATH``), the
    predictions are also written in the CodaLab format (see
    :func:`write_submission`); the scores are computed as usual, or, when
    no frame has a label (``DynamicEarthNetDataset(with_label=False)``),
    only the submission is written and no score is returned.

    Args:
        num_classes (int): Defaults to 6.
        ignore_index (int): Defaults to 255.
        decimals (int, optional): Rounding of the x100 scores; 1 as
            ``scores.txt``; None keeps full precision. Defaults to 1.
        submission_path (str, optional): Where to write the submission.
        collect_device (str): Defaults to ``'cpu'``.
        prefix (str, optional): Metric name prefix.
    """

    def __init__(self,
                 num_classes: int = 6,
                 ignore_index: int = 255,
                 decimals: Optional[int] = 1,
                 submission_path: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.decimals = decimals
        self.submission_path = submission_path

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Keep the prediction and label of each frame.

        Args:
            data_batch (dict): Unused.
            data_samples (Sequence[dict]): Outputs of the model.
        """
        for sample in data_samples:
            pred = sample['pred_sem_seg']['data'][0]
            pred = pred.cpu().numpy().astype(np.uint8)
            gt = sample.get('gt_sem_seg')
            if gt is not None:
                gt = gt['data'][0].cpu().numpy().astype(np.uint8)
                if gt.shape != pred.shape:
                    raise ValueError(
                        f'{sample["seg_map_path"]}: prediction size '
                        f'{pred.shape} differs from the label size '
                        f'{gt.shape}')
            self.results.append(
                (frame_name(sample['seg_map_path']), gt, pred))

    def compute_metrics(self, results: List[tuple]) -> Dict[str, float]:
        """Compute the scores (and write the submission).

        Args:
            results (list[tuple]): ``(png name, gt, pred)`` per frame.

        Returns:
            dict: ``mIoU``, ``SCS``, ``BC``, ``SC`` and the per-class IoU
            (``IoU.imp`` ...), x100.
        """
        names = [r[0] for r in results]
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f'frames evaluated twice: {dup[:5]}')
        if self.submission_path:
            gts = {n: g for n, g, _ in results if g is not None}
            write_submission(self.submission_path,
                             {n: p for n, _, p in results},
                             gts if len(gts) == len(results) else None,
                             num_classes=self.num_classes)
            MMLogger.get_current_instance().info(
                f'DynamicEarthNet submission written to '
                f'{self.submission_path} ({len(results)} frames)')
        missing = sum(g is None for _, g, _ in results)
        if missing == len(results) and self.submission_path:
            # a split without public labels: the submission only
            return OrderedDict()
        if missing:
            raise ValueError(f'{missing} of {len(results)} frames have no '
                             'label: DynamicEarthNetMetric needs the labels '
                             'of every frame to compute scores')
        frames = OrderedDict()
        for name, gt, pred in sorted(results, key=lambda r: r[0]):
            stem = name.split('.')[0]
            frames.setdefault(stem[:-DATE_SUFFIX_LEN], []).append(
                (stem[-DATE_SUFFIX_LEN:].replace('-', '_'), gt, pred))
        scores = dynamicearthnet_scores(frames, self.num_classes,
                                        self.ignore_index)

        def fmt(x):
            x = float(x) * 100
            return x if self.decimals is None else round(x, self.decimals)

        out = OrderedDict(
            (k, fmt(scores[k])) for k in ('mIoU', 'SCS', 'BC', 'SC'))
        names = SCORE_NAMES if self.num_classes == 6 else [
            str(i) for i in range(self.num_classes)]
        for name, iou in zip(names, scores['IoU_per_class']):
            out[f'IoU.{name}'] = fmt(iou)
        return out
