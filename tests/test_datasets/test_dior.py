"""DIOR / DIOR-R readers (skysense_mm.DIORDataset / DIORRDataset) and their
metrics, for the SkySense detection benchmarks
(https://arxiv.org/abs/2312.10115, Tab. 2b).

Real files: ../shared/data/DIOR holds image 00001 (800x800) with its
official horizontal-box XML (rsclip's copy, ``annotations/horizontal``) and
its official DIOR-R oriented XML (MMRotate's test fixture, ``Annotations/
Oriented Bounding Boxes``; rsclip's ``annotations/oriented`` copy is
byte-identical). Bad-input cases edit a copy of those real XMLs.
"""
import copy
import math
import os.path as osp
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import torch

from skysense_mm.datasets import DIORDataset, DIORRDataset
from skysense_mm.datasets.dior import DIOR_CLASSES
from skysense_mm.structures.rotated_boxes import (
    qboxes_to_rboxes as corners_to_rbox_le90,
    rboxes_to_qboxes as rbox_to_corners)

FIXTURE = 'DIOR/open-mmlab__mmrotate@1.x/tests/data/dior'
RSCLIP = 'DIOR/zhuyuerong__rsclip/datasets/DIOR/annotations'
OBB_DIR = 'Annotations/Oriented Bounding Boxes'


def hbb_dataset(shared_data, **kwargs):
    return DIORDataset(
        data_root=osp.join(shared_data, 'DIOR'),
        ann_file=osp.join(shared_data, FIXTURE, 'demo.txt'),
        data_prefix=dict(img_path=osp.join(shared_data, FIXTURE, 'JPEGImage'),
                         ann_path=osp.join(shared_data, RSCLIP,
                                           'horizontal')),
        pipeline=[], **kwargs)


def obb_dataset(data_root, **kwargs):
    return DIORRDataset(data_root=data_root, ann_file='demo.txt',
                        data_prefix=dict(img_path='JPEGImage'), pipeline=[],
                        **kwargs)


def direct_objects(xml_path):
    root = ET.parse(xml_path).getroot()
    return [o.findtext('name') for o in root.findall('object')]


def test_real_hbb_xml(shared_data):
    ds = hbb_dataset(shared_data)
    xml = osp.join(shared_data, RSCLIP, 'horizontal', '00001.xml')
    names = direct_objects(xml)
    assert len(ds) == 1
    info = ds[0]
    assert (info['img_id'], info['width'], info['height']) == ('00001', 800,
                                                               800)
    assert osp.isfile(info['img_path']) and info['xml_path'] == xml
    assert len(info['instances']) == len(names) == 1
    assert [DIOR_CLASSES[i['bbox_label']] for i in info['instances']] == \
        [n.lower() for n in names] == ['golffield']
    # as written in <bndbox>: no VOC minus-one, nothing clipped
    assert info['instances'][0]['bbox'] == [133.0, 237.0, 684.0, 672.0]
    assert info['instances'][0]['ignore_flag'] == 0
    assert ds.num_clipped == 0 and ds.num_empty == 0
    assert ds.metainfo['classes'] == DIOR_CLASSES and len(DIOR_CLASSES) == 20


def test_real_obb_xml(shared_data):
    ds = obb_dataset(osp.join(shared_data, FIXTURE))
    xml = osp.join(shared_data, FIXTURE, OBB_DIR, '00001.xml')
    with open(xml, 'rb') as a, open(
            osp.join(shared_data, RSCLIP, 'oriented', '00001.xml'), 'rb') as b:
        assert a.read() == b.read()
    names = direct_objects(xml)
    info = ds[0]
    assert len(info['instances']) == len(names) == 1
    assert [DIOR_CLASSES[i['bbox_label']] for i in info['instances']] == \
        [n.lower() for n in names]
    # corners (133,237) (684,237) (684,672) (133,672), <angle>0</angle>
    np.testing.assert_allclose(info['instances'][0]['bbox'],
                               [408.5, 454.5, 551.0, 435.0, 0.0], atol=1e-4)
    assert ds.num_outside == 0


def _same_corner_set(a, b, atol=1e-2):
    """Two (8,) quadrilaterals have the same corners in the same cyclic
    order (any start, either direction)."""
    a, b = np.asarray(a).reshape(4, 2), np.asarray(b).reshape(4, 2)
    for shift in range(4):
        for seq in (b, b[::-1]):
            if np.allclose(a, np.roll(seq, shift, axis=0), atol=atol):
                return True
    return False


def _rotated_corners(cx, cy, w, h, t):
    c, s = math.cos(t), math.sin(t)
    pts = [(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)]
    return np.array([(cx + x * c - y * s, cy + x * s + y * c)
                     for x, y in pts]).reshape(-1)


def test_rbox_round_trip_on_real_boxes(shared_data):
    root = ET.parse(osp.join(shared_data, FIXTURE, OBB_DIR,
                             '00001.xml')).getroot()
    real = np.array([[float(o.find('robndbox').findtext(k)) for k in (
        'x_left_top', 'y_left_top', 'x_right_top', 'y_right_top',
        'x_right_bottom', 'y_right_bottom', 'x_left_bottom', 'y_left_bottom')]
        for o in root.findall('object')])
    cx, cy, w, h = 408.5, 454.5, 551.0, 435.0
    # the real box, the real box turned about its centre (le90 keeps w the
    # long side and theta in [-pi/2, pi/2)), and the real box stood upright
    cases = [(real[0], (cx, cy, w, h, 0.0))]
    for t in (math.radians(30), math.radians(-60), math.radians(89)):
        cases.append((_rotated_corners(cx, cy, w, h, t), (cx, cy, w, h, t)))
    cases.append((_rotated_corners(cx, cy, h, w, 0.0),
                  (cx, cy, w, h, -math.pi / 2)))
    corners = np.stack([c for c, _ in cases])
    rboxes = corners_to_rbox_le90(corners)
    assert rboxes.shape == (len(cases), 5)
    for rbox, (_, expected) in zip(rboxes, cases):
        np.testing.assert_allclose(rbox[:4], expected[:4], atol=1e-2)
        assert rbox[2] >= rbox[3] and -math.pi / 2 <= rbox[4] < math.pi / 2
        dt = (rbox[4] - expected[4] + math.pi / 2) % math.pi - math.pi / 2
        assert abs(dt) < 1e-4
    back = rbox_to_corners(rboxes)
    for a, b in zip(back, corners):
        assert _same_corner_set(a, b)
    # and back again: rbox -> corners -> rbox is the identity in le90
    np.testing.assert_allclose(corners_to_rbox_le90(back), rboxes, atol=1e-2)


# --- bad input: edited copies of the real XMLs -------------------------------


def _copy_obb(shared_data, tmp_path, edit):
    """tmp copy of the DIOR-R fixture whose 00001.xml is edited by
    ``edit(root, obj)`` (``obj``: a copy of the real object, appended as
    object 1 unless ``edit`` returns False)."""
    src = osp.join(shared_data, FIXTURE)
    dst = tmp_path / 'dior'
    (dst / OBB_DIR).mkdir(parents=True)
    shutil.copy(osp.join(src, 'demo.txt'), dst / 'demo.txt')
    tree = ET.parse(osp.join(src, OBB_DIR, '00001.xml'))
    root = tree.getroot()
    obj = copy.deepcopy(root.find('object'))
    if edit(root, obj) is not False:
        root.append(obj)
    xml = dst / OBB_DIR / '00001.xml'
    tree.write(xml)
    return str(dst), str(xml)


def _copy_hbb(shared_data, tmp_path, edit):
    src = osp.join(shared_data, RSCLIP, 'horizontal', '00001.xml')
    tree = ET.parse(src)
    root = tree.getroot()
    obj = copy.deepcopy(root.find('object'))
    if edit(root, obj) is not False:
        root.append(obj)
    (tmp_path / 'hbb').mkdir()
    xml = tmp_path / 'hbb' / '00001.xml'
    tree.write(xml)
    (tmp_path / 'ids.txt').write_text('00001\n')
    return str(xml)


def _hbb(tmp_path, **kwargs):
    return DIORDataset(ann_file=str(tmp_path / 'ids.txt'),
                       data_prefix=dict(img_path=str(tmp_path),
                                        ann_path=str(tmp_path / 'hbb')),
                       pipeline=[], **kwargs)


def _set(obj, tag, **values):
    for k, v in values.items():
        obj.find(tag).find(k).text = str(v)


def test_case_insensitive_official_class_names(shared_data, tmp_path):
    def edit(root, obj):
        obj.find('name').text = 'Expressway-Service-area'
    _copy_hbb(shared_data, tmp_path, edit)
    ds = _hbb(tmp_path)
    assert [i['bbox_label'] for i in ds[0]['instances']] == [
        DIOR_CLASSES.index('golffield'),
        DIOR_CLASSES.index('expressway-service-area')]


def test_unknown_class_names_file_and_object(shared_data, tmp_path):
    def edit(root, obj):
        obj.find('name').text = 'helicopter'
    root, xml = _copy_obb(shared_data, tmp_path, edit)
    with pytest.raises(ValueError, match='object 1: unknown class name '
                       "'helicopter'") as e:
        obb_dataset(root)
    assert xml in str(e.value)
    _copy_hbb(shared_data, tmp_path, edit)
    with pytest.raises(ValueError, match='object 1: unknown class name'):
        _hbb(tmp_path)


def test_bad_difficult_flag_names_file_and_object(shared_data, tmp_path):
    def edit(root, obj):
        node = obj.find('difficult')
        if node is None:
            node = ET.SubElement(obj, 'difficult')
        node.text = 'yes'
    _copy_hbb(shared_data, tmp_path, edit)
    with pytest.raises(ValueError, match=r"object 1: <difficult> must be 0 "
                       r"or 1, got 'yes'") as e:
        _hbb(tmp_path)
    assert '.xml' in str(e.value)


def test_degenerate_boxes(shared_data, tmp_path):
    _copy_hbb(shared_data, tmp_path,
              lambda r, o: _set(o, 'bndbox', xmin=300, xmax=300))
    with pytest.raises(ValueError, match=r'00001.xml: object 1: degenerate '
                       r'box \[xmin, ymin, xmax, ymax\] = \[300.0, 237.0, '
                       r'300.0, 672.0\]'):
        _hbb(tmp_path)

    def collinear(root, obj):  # all four corners on the line y = x
        _set(obj, 'robndbox', x_left_top=10, y_left_top=10, x_right_top=20,
             y_right_top=20, x_right_bottom=30, y_right_bottom=30,
             x_left_bottom=40, y_left_bottom=40)
    root, xml = _copy_obb(shared_data, tmp_path, collinear)
    with pytest.raises(ValueError, match='object 1: degenerate polygon'):
        obb_dataset(root)


def test_non_numeric_and_missing_coordinates(shared_data, tmp_path):
    _copy_hbb(shared_data, tmp_path,
              lambda r, o: _set(o, 'bndbox', ymin='abc'))
    with pytest.raises(ValueError, match="object 1: <ymin> is not a number"):
        _hbb(tmp_path)
    root, _ = _copy_obb(shared_data, tmp_path / 'b', lambda r, o: o.find(
        'robndbox').remove(o.find('robndbox').find('y_left_bottom')))
    with pytest.raises(ValueError, match='object 1: missing <y_left_bottom>'):
        obb_dataset(root)


def test_hbb_outside_image_clipped_and_counted(shared_data, tmp_path):
    _copy_hbb(shared_data, tmp_path,
              lambda r, o: _set(o, 'bndbox', xmin=-5, ymin=700, xmax=40,
                                ymax=812))
    ds = _hbb(tmp_path)
    assert ds.num_clipped == 1
    assert [i['bbox'] for i in ds[0]['instances']] == [
        [133.0, 237.0, 684.0, 672.0], [0.0, 700.0, 40.0, 800.0]]
    with pytest.raises(ValueError, match=r"object 1: box \[-5.0, 700.0, 40.0, "
                       r"812.0\] leaves the 800x800 image \(out_of_image="):
        _hbb(tmp_path, out_of_image='error')


def test_hbb_entirely_outside_image_raises(shared_data, tmp_path):
    _copy_hbb(shared_data, tmp_path,
              lambda r, o: _set(o, 'bndbox', xmin=810, xmax=850))
    with pytest.raises(ValueError, match='object 1: .* leaves the 800x800 '
                       'image entirely'):
        _hbb(tmp_path)


def test_obb_outside_image(shared_data, tmp_path):
    # a corner leaves the image, the centre does not: kept and counted
    def corner_out(root, obj):
        _set(obj, 'robndbox', x_left_top=-10, y_left_top=100,
             x_right_top=50, y_right_top=40, x_right_bottom=110,
             y_right_bottom=100, x_left_bottom=50, y_left_bottom=160)
    root, _ = _copy_obb(shared_data, tmp_path, corner_out)
    ds = obb_dataset(root)
    assert ds.num_outside == 1 and len(ds[0]['instances']) == 2
    np.testing.assert_allclose(
        ds[0]['instances'][1]['bbox'][:4],
        [50, 100, 60 * math.sqrt(2), 60 * math.sqrt(2)], atol=1e-3)
    with pytest.raises(ValueError, match='object 1: rotated box .* leaves '
                       "the 800x800 image \\(out_of_image='error'\\)"):
        obb_dataset(root, out_of_image='error')

    def centre_out(root, obj):
        _set(obj, 'robndbox', x_left_top=790, x_left_bottom=790,
             x_right_top=830, x_right_bottom=830)
    root, _ = _copy_obb(shared_data, tmp_path / 'b', centre_out)
    with pytest.raises(ValueError, match=r'object 1: .*\(centre outside\)'):
        obb_dataset(root)


def test_empty_annotation_files(shared_data, tmp_path):
    # an XML without objects: kept in test mode, counted; dropped (counted)
    # by filter_empty_gt in training
    def no_objects(root, obj):
        root.remove(root.find('object'))
        return False
    root, _ = _copy_obb(shared_data, tmp_path, no_objects)
    # + the unedited real XML as image 00002
    shutil.copy(osp.join(shared_data, FIXTURE, OBB_DIR, '00001.xml'),
                osp.join(root, OBB_DIR, '00002.xml'))
    with open(osp.join(root, 'demo.txt'), 'a') as f:
        f.write('00002\n')
    ds = obb_dataset(root, test_mode=True)
    assert len(ds) == 2 and ds.num_empty == 1 and ds[0]['instances'] == []
    ds = obb_dataset(root, filter_cfg=dict(filter_empty_gt=True))
    assert len(ds) == 1 and ds.num_empty == 1 and ds.num_filtered_empty == 1
    assert ds[0]['img_id'] == '00002' and len(ds[0]['instances']) == 1
    # an empty (0-byte) file: error naming it
    xml = tmp_path / 'dior' / OBB_DIR / '00001.xml'
    xml.write_text('')
    with pytest.raises(ValueError, match='00001.xml: empty or malformed XML'):
        obb_dataset(root)
    # a listed id without XML
    xml.unlink()
    with pytest.raises(FileNotFoundError, match="image id '00001'.*demo.txt"):
        obb_dataset(root)


def test_bad_arguments():
    with pytest.raises(ValueError, match="'clip' or 'error'"):
        DIORDataset(out_of_image='keep', lazy_init=True)
    with pytest.raises(ValueError, match="'keep' or 'error'"):
        DIORRDataset(out_of_image='clip', lazy_init=True)


# --- metrics on hand-computed cases ------------------------------------------

AIRPLANE, SHIP = DIOR_CLASSES.index('airplane'), DIOR_CLASSES.index('ship')


def _sample(gt_boxes, gt_labels, boxes, scores, labels, img_id, dim):
    empty = torch.zeros((0, dim))
    return dict(
        img_id=img_id,
        gt_instances=dict(bboxes=torch.tensor(gt_boxes, dtype=torch.float32),
                          labels=torch.tensor(gt_labels)),
        ignored_instances=dict(bboxes=empty,
                               labels=torch.zeros(0, dtype=torch.long)),
        pred_instances=dict(bboxes=torch.tensor(boxes, dtype=torch.float32),
                            scores=torch.tensor(scores),
                            labels=torch.tensor(labels)))


# Two images. Image A: gt airplane + ship; predictions airplane TP (0.9),
# airplane FP (0.8), ship TP (0.7). Image B: gt airplane; predictions
# airplane TP (0.6), ship FP (0.5).
# airplane (2 gts): TP, FP, TP -> recall .5 .5 1, precision 1 .5 2/3
#   11 points: (6 x 1 + 5 x 2/3) / 11 = 0.84848; area: .5 x 1 + .5 x 2/3
#   = 0.83333
# ship (1 gt): TP, FP -> AP 1 (both modes)
# mAP over the classes with ground truth: 11 points 0.92424, area 0.91667


@pytest.mark.parametrize('mode, expected', [('11points', 0.924),
                                            ('area', 0.917)])
def test_voc_metric_hand_computed(mode, expected):
    from mmdet.evaluation import VOCMetric
    metric = VOCMetric(iou_thrs=0.5, eval_mode=mode)
    metric.dataset_meta = dict(classes=DIOR_CLASSES)
    a = _sample([[10, 10, 50, 50], [100, 100, 140, 120]], [AIRPLANE, SHIP],
                [[10, 10, 50, 50], [200, 200, 240, 240], [100, 100, 140, 120]],
                [0.9, 0.8, 0.7], [AIRPLANE, AIRPLANE, SHIP], 'a', 4)
    b = _sample([[0, 0, 30, 30]], [AIRPLANE],
                [[0, 0, 30, 30], [50, 50, 60, 60]], [0.6, 0.5],
                [AIRPLANE, SHIP], 'b', 4)
    metric.process({}, [a, b])
    res = metric.evaluate(2)
    assert res['pascal_voc/mAP'] == pytest.approx(expected, abs=1e-3)


def test_dota_metric_hand_computed():
    """Same TP/FP pattern with rotated boxes; the image-B ship prediction
    has the gt's centre and size but is turned by 90 degrees (rotated IoU
    0.053), so it is a FP although its horizontal box would overlap.
    (MMRotate's spawn pool is replaced by threads in
    ``skysense_mm.utils.compat``.)"""
    from mmrotate.evaluation import DOTAMetric
    metric = DOTAMetric(iou_thrs=0.5, metric='mAP', eval_mode='11points')
    metric.dataset_meta = dict(classes=DIOR_CLASSES)
    plane_a = [30, 30, 40, 20, 0.5]
    ship_a = [120, 110, 40, 10, -0.3]
    a = _sample([plane_a, ship_a], [AIRPLANE, SHIP],
                [plane_a, [300, 300, 40, 40, 0.0], ship_a],
                [0.9, 0.8, 0.7], [AIRPLANE, AIRPLANE, SHIP], 'a', 5)
    ship_b = [300, 300, 100, 10, 0.0]
    b = _sample([[15, 15, 30, 30, 0.0], ship_b], [AIRPLANE, SHIP],
                [[15, 15, 30, 30, 0.0], [300, 300, 100, 10, math.pi / 2]],
                [0.6, 0.5], [AIRPLANE, SHIP], 'b', 5)
    metric.process({}, [a, b])
    res = metric.evaluate(2)
    # airplane as above 0.84848; ship (2 gts): TP (0.7), FP (0.5) ->
    # recall .5 .5, precision 1 .5 -> 11 points 6/11 = 0.54545
    assert res['dota/mAP'] == pytest.approx((0.84848 + 0.54545) / 2,
                                            abs=1e-3)
