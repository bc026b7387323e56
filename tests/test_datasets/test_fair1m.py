"""FAIR1M v2.0 (SkySense benchmark, https://arxiv.org/abs/2312.10115,
Tab. 2b) and DOTA-format parsing on the real samples in ../shared/data:
the label XML parser, the dataset on the official layout and on split
patches, split-and-merge of a real image, the submission writer, the mAP
on hand-computed cases, and the errors on bad input (written to tmp_path).
"""
import glob
import os.path as osp
import re
import sys
import zipfile
from collections import Counter

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from shapely.geometry import Polygon, box

from conftest import TOOLS
from skysense_mm.datasets.fair1m import (FAIR1M_CLASSES, FAIR1MDataset,
                                         dump_fair1m_xml, parse_dota_txt,
                                         parse_fair1m_xml)
from skysense_mm.structures.rotated_boxes import (qboxes_to_rboxes,
                                                  rboxes_to_qboxes)
from skysense_mm.evaluation.metrics.fair1m_metric import (
    FAIR1MMetric, merge_patch_detections, parse_patch_id, rbbox_map,
    write_fair1m_submission)

sys.path.insert(0, osp.join(TOOLS, 'dataset_converters'))
import fair1m_split  # noqa: E402

LAYOUT = 'FAIR1M/_assembled_official_layout/train/part1'
V1_XMLS = 'FAIR1M/nguyenhuytuan291100__ObjectDetection_CoHong/train/part1/' \
    'labelXml'
P1888 = 'DOTA/CAPTAIN-WHU__DOTA_devkit/example/labelTxt/P1888.txt'
DOTA_CLASSES = ('plane', 'baseball-diamond', 'bridge', 'ground-track-field',
                'small-vehicle', 'large-vehicle', 'ship', 'tennis-court',
                'basketball-court', 'storage-tank', 'soccer-ball-field',
                'roundabout', 'harbor', 'swimming-pool', 'helicopter')


def direct_count(xml_path):
    """Class names counted with a regex, independent of the parser."""
    return Counter(re.findall(r'<name>([^<]*)</name>', open(xml_path).read()))


def test_class_list():
    assert len(FAIR1M_CLASSES) == 37 == len(set(FAIR1M_CLASSES))
    assert FAIR1M_CLASSES[:2] == ('Boeing737', 'Boeing747')
    assert FAIR1M_CLASSES[10] == 'other-airplane'
    assert FAIR1M_CLASSES[20] == 'Small Car'
    assert FAIR1M_CLASSES[-1] == 'Bridge'


def test_parse_real_xmls(shared_data):
    files = sorted(glob.glob(osp.join(shared_data, V1_XMLS, '*.xml')))
    assert len(files) == 5
    total = 0
    for f in files:
        ann = parse_fair1m_xml(f)
        expected = direct_count(f)
        for _, reason in ann['skipped']:
            assert reason == 'degenerate'
        if osp.basename(f) == '1.xml':
            # object 18 is a zero-area polygon (5 equal points) on the border
            assert ann['skipped'] == [(18, 'degenerate')]
            expected['Cargo Truck'] -= 1
        else:
            assert ann['skipped'] == []
        assert Counter(ann['names']) == +expected
        assert ann['qboxes'].shape == (len(ann['names']), 8)
        assert [FAIR1M_CLASSES[i] for i in ann['labels']] == ann['names']
        assert ann['filename'] == osp.basename(f)[:-4] + '.tif'
        total += len(ann['names'])
    assert total == 3 + 67 + 8 + 52 + 19
    ann = parse_fair1m_xml(osp.join(shared_data, V1_XMLS, '0.xml'))
    assert (ann['width'], ann['height']) == (1500, 1500)
    assert sorted(ann['names']) == ['Dry Cargo Ship', 'Liquid Cargo Ship',
                                    'Passenger Ship']
    with pytest.raises(ValueError, match=r'1\.xml: object 18 \(Cargo Truck\)'
                       r' is degenerate'):
        parse_fair1m_xml(osp.join(shared_data, V1_XMLS, '1.xml'),
                         skip_invalid=False)


def test_qbox_rbox_round_trip(shared_data):
    # hand case: axis-aligned 10 x 4 rectangle
    r = qboxes_to_rboxes(np.array([[0, 0, 10, 0, 10, 4, 0, 4]]))
    np.testing.assert_allclose(r, [[5, 2, 10, 4, 0]], atol=1e-5)
    # 45 degrees: le90 keeps the angle in [-pi/2, pi/2)
    s = np.sqrt(2)
    r = qboxes_to_rboxes(np.array([[0, 0, s, s, 0, 2 * s, -s, s]]))
    assert abs(abs(r[0, 4]) - np.pi / 4) < 1e-4
    np.testing.assert_allclose(r[0, :4], [0, s, 2, 2], atol=1e-4)
    # real polygons: corners -> rbox -> corners -> rbox is stable
    ann = parse_fair1m_xml(osp.join(shared_data, LAYOUT, 'labelXml',
                                    '100.xml'))
    r1 = qboxes_to_rboxes(ann['qboxes'])
    assert r1.shape == (52, 5)
    assert ((r1[:, 4] >= -np.pi / 2) & (r1[:, 4] < np.pi / 2)).all()
    r2 = qboxes_to_rboxes(rboxes_to_qboxes(r1))
    np.testing.assert_allclose(r2, r1, atol=1e-3)
    # the rotated box is the minimum-area rectangle around the corners:
    # never smaller, and equal for the real labels that are rectangles
    # (50 of 52; objects 22 and 36 are skewed quadrilaterals)
    areas = np.array([Polygon(q.reshape(4, 2)).area for q in ann['qboxes']])
    rb_areas = r1[:, 2] * r1[:, 3]
    assert (rb_areas >= areas - 1e-2).all()
    assert np.nonzero(~np.isclose(rb_areas, areas, rtol=1e-3))[0].tolist() \
        == [22, 36]


def write_xml(path, objects, size=(100, 100)):
    objs = ''.join(
        f'<object><possibleresult><name>{name}</name></possibleresult>'
        '<points>' + ''.join(f'<point>{p}</point>' for p in pts) +
        '</points></object>' for name, pts in objects)
    size_xml = ('' if size is None else f'<size><width>{size[0]}</width>'
                f'<height>{size[1]}</height></size>')
    path.write_text(f'<annotation><source><filename>{path.stem}.tif'
                    f'</filename></source>{size_xml}<objects>{objs}'
                    '</objects></annotation>')
    return str(path)


SQUARE = ['10,10', '20,10', '20,20', '10,20', '10,10']


def test_bad_xml_input(tmp_path):
    f = write_xml(tmp_path / 'a.xml', [('Small Car', SQUARE),
                                       ('Spaceship', SQUARE)])
    with pytest.raises(ValueError, match=r"a\.xml: object 1 has unknown "
                       r"class 'Spaceship'"):
        parse_fair1m_xml(f)
    empty = tmp_path / 'e.xml'
    empty.write_text('')
    with pytest.raises(ValueError, match=r'e\.xml: empty annotation file'):
        parse_fair1m_xml(str(empty))
    broken = tmp_path / 'b.xml'
    broken.write_text('<annotation><objects>')
    with pytest.raises(ValueError, match=r'b\.xml: not a valid FAIR1M XML'):
        parse_fair1m_xml(str(broken))
    f = write_xml(tmp_path / 'c.xml', [('Van', ['1,2', '3;4', '5,6', '7,8'])])
    with pytest.raises(ValueError, match=r"c\.xml: object 0 \(Van\) has a "
                       r"malformed point '3;4'"):
        parse_fair1m_xml(f)
    f = write_xml(tmp_path / 'd.xml', [('Van', SQUARE[:3])])
    with pytest.raises(ValueError, match=r'd\.xml: object 0 \(Van\) has 3 '
                       'points'):
        parse_fair1m_xml(f)
    # no objects at all: a valid image without instances
    ann = parse_fair1m_xml(write_xml(tmp_path / 'n.xml', []))
    assert ann['qboxes'].shape == (0, 8) and ann['skipped'] == []
    # fully outside -> counted skip; partly outside -> kept as labelled
    outside = ['110,10', '120,10', '120,20', '110,20']
    partly = ['95,10', '105,10', '105,20', '95,20']
    f = write_xml(tmp_path / 'o.xml', [('Van', outside), ('Bus', partly),
                                       ('Van', SQUARE)])
    ann = parse_fair1m_xml(f)
    assert ann['skipped'] == [(0, 'outside')]
    assert ann['names'] == ['Bus', 'Van']
    np.testing.assert_allclose(ann['qboxes'][0], [95, 10, 105, 10, 105, 20,
                                                  95, 20])
    with pytest.raises(ValueError, match=r'o\.xml: object 0 \(Van\) is '
                       'outside'):
        parse_fair1m_xml(f, skip_invalid=False)


def test_dota_txt_real_p1888(shared_data, tmp_path):
    path = osp.join(shared_data, P1888)
    ann = parse_dota_txt(path, DOTA_CLASSES)
    lines = open(path).read().split('\n')
    objs = [ln.split() for ln in lines if len(ln.split()) == 10]
    assert len(ann['names']) == len(objs) == 64
    assert Counter(ann['names']) == Counter(o[8] for o in objs) == {
        'large-vehicle': 50, 'small-vehicle': 14}
    assert ann['imagesource'] == 'GoogleEarth'
    assert ann['gsd'] == pytest.approx(0.266170468393)
    np.testing.assert_allclose(ann['qboxes'][0],
                               [674, 375, 683, 375, 684, 394, 675, 395])
    assert ann['difficulties'].tolist() == [int(o[9]) for o in objs]
    bad = tmp_path / 'bad.txt'
    bad.write_text('1 2 3 4 5 6 7 8 plane 0\n1 2 3 4 5 6 7 8 ufo 0\n')
    with pytest.raises(ValueError, match=r"bad\.txt: line 2 has unknown "
                       r"class 'ufo'"):
        parse_dota_txt(str(bad), DOTA_CLASSES)
    bad.write_text('1 2 3 4 5 6 plane 0\n')
    with pytest.raises(ValueError, match=r'bad\.txt: line 1 has 8 fields'):
        parse_dota_txt(str(bad), DOTA_CLASSES)


def test_dataset_official_layout(shared_data):
    init_default_scope('mmrotate')
    ds = FAIR1MDataset(
        data_root=osp.join(shared_data, LAYOUT), ann_file='labelXml',
        data_prefix=dict(img_path='images'),
        pipeline=[
            dict(type='mmdet.LoadImageFromFile'),
            dict(type='mmdet.LoadAnnotations', with_bbox=True,
                 box_type='qbox'),
            dict(type='mmrotate.ConvertBoxType',
                 box_type_mapping=dict(gt_bboxes='rbox')),
        ])
    assert len(ds) == 2
    assert ds.skipped == Counter(degenerate=1)
    infos = {ds.get_data_info(i)['img_id']: ds.get_data_info(i)
             for i in range(2)}
    assert len(infos['1']['instances']) == 67
    assert len(infos['100']['instances']) == 52
    assert (infos['1']['width'], infos['1']['height']) == (1000, 1000)
    cats = Counter(FAIR1M_CLASSES[c] for c in ds.get_cat_ids(
        [i for i in range(2) if ds.get_data_info(i)['img_id'] == '100'][0]))
    assert cats == {'Small Car': 30, 'Van': 14, 'Dump Truck': 7,
                    'Excavator': 1}
    sample = ds[0]
    assert sample['img'].shape == (1000, 1000, 3)
    assert sample['gt_bboxes'].tensor.shape[1] == 5
    assert len(sample['gt_bboxes']) == len(sample['gt_bboxes_labels'])


def test_split_and_merge_keeps_every_object(shared_data, tmp_path):
    """Split the real 1000x1000 images into 256 patches (gap 64), read the
    patch labels back, shift them to image coordinates and merge them with
    the metric's rotated NMS: every labelled object comes back once. The
    only objects in no patch are those with < 70% of their area inside the
    image (the DOTA retained-area rule), and the tool counts them."""
    root = osp.join(shared_data, LAYOUT)
    out = str(tmp_path / 'split')
    stats = fair1m_split.split_folder(
        osp.join(root, 'images'), out, osp.join(root, 'labelXml'),
        size=256, gap=64)
    assert stats['images'] == 2 and stats['objects'] == 67 + 52
    assert stats['skipped'] == {'degenerate': 1}
    patches = sorted(glob.glob(osp.join(out, 'images', '*.png')))
    # windows start at 0, 192, 384, 576, 744 on each axis: 25 per image
    assert stats['patches'] == len(patches) == 50
    assert osp.basename(patches[0]) == '100__256__0___0.png'
    assert parse_patch_id('100__256__744___192') == ('100', 744, 192)
    name_map = {c.replace(' ', '_'): c for c in FAIR1M_CLASSES}
    results = []
    for txt in sorted(glob.glob(osp.join(out, 'annfiles', '*.txt'))):
        ann = parse_dota_txt(txt, FAIR1M_CLASSES, name_map)
        img_id = osp.basename(txt)[:-4]
        results.append(dict(img_id=img_id,
                            bboxes=qboxes_to_rboxes(ann['qboxes']),
                            scores=np.ones(len(ann['names'])),
                            labels=ann['labels']))
    merged = merge_patch_detections(results, iou_thr=0.1)
    assert sorted(merged) == ['1', '100']
    lost_total = 0
    for name in merged:
        ann = parse_fair1m_xml(osp.join(root, 'labelXml', f'{name}.xml'))
        inside = np.array([
            Polygon(q.reshape(4, 2)).intersection(box(0, 0, 1000, 1000)).area
            / Polygon(q.reshape(4, 2)).area for q in ann['qboxes']])
        keep = inside >= 0.7
        lost_total += int((~keep).sum())
        gt = qboxes_to_rboxes(ann['qboxes'][keep])
        det = merged[name]
        assert len(det['bboxes']) == len(gt)
        from mmcv.ops import box_iou_rotated
        iou = box_iou_rotated(torch.from_numpy(gt),
                              torch.from_numpy(det['bboxes'])).numpy()
        match = iou.argmax(1)
        assert (iou.max(1) > 0.99).all()
        assert sorted(match.tolist()) == list(range(len(gt)))
        assert (det['labels'][match] == ann['labels'][keep]).all()
    assert stats['lost'] == lost_total == 3


def test_dataset_reads_split_patches(shared_data, tmp_path):
    root = osp.join(shared_data, LAYOUT)
    out = tmp_path / 'split'
    fair1m_split.split_folder(osp.join(root, 'images'), str(out),
                              osp.join(root, 'labelXml'), size=600, gap=200)
    ds = FAIR1MDataset(data_root=str(out), ann_file='annfiles',
                       data_prefix=dict(img_path='images'), img_shape=(600,
                                                                       600),
                       pipeline=[])
    assert len(ds) == 8  # windows at 0 and 400 on each axis
    names = Counter(FAIR1M_CLASSES[c] for i in range(len(ds))
                    for c in ds.get_cat_ids(i))
    assert set(names) == {'Cargo Truck', 'Dump Truck', 'Small Car', 'Van',
                          'Excavator'}
    flags = [ins['ignore_flag'] for i in range(len(ds))
             for ins in ds.get_data_info(i)['instances']]
    assert flags and not any(flags)  # diff_thr 100: cut objects (2) kept
    ds = FAIR1MDataset(data_root=str(out), ann_file='annfiles',
                       data_prefix=dict(img_path='images'), diff_thr=1,
                       pipeline=[])
    flags = [ins['ignore_flag'] for i in range(len(ds))
             for ins in ds.get_data_info(i)['instances']]
    assert any(flags)  # objects cut by a patch border get difficulty 2
    with pytest.raises(ValueError, match='no \\*.xml label files'):
        FAIR1MDataset(data_root=str(out), ann_file='annfiles',
                      ann_format='xml', data_prefix=dict(img_path='images'),
                      pipeline=[])


def test_writer_output_reparses(tmp_path):
    rboxes = np.array([[50.5, 60.25, 20, 8, 0.3], [10, 10, 6, 3, -1.2]],
                      np.float32)
    images = {'7': dict(bboxes=rboxes, scores=np.array([0.9, 0.25]),
                        labels=np.array([20, 36]))}
    for path in (str(tmp_path / 'sub'), str(tmp_path / 'sub.zip')):
        assert write_fair1m_submission(images, FAIR1M_CLASSES, path) == [
            '7.xml']
    with zipfile.ZipFile(tmp_path / 'sub.zip') as zf:
        assert zf.namelist() == ['7.xml']
        zf.extractall(tmp_path / 'unzipped')
    for folder in ('sub', 'unzipped'):
        ann = parse_fair1m_xml(str(tmp_path / folder / '7.xml'))
        assert ann['filename'] == '7.tif' and ann['width'] is None
        assert ann['names'] == ['Small Car', 'Bridge']
        np.testing.assert_allclose(ann['scores'], [0.9, 0.25])
        np.testing.assert_allclose(ann['qboxes'], rboxes_to_qboxes(rboxes),
                                   atol=1e-5)
        np.testing.assert_allclose(qboxes_to_rboxes(ann['qboxes']), rboxes,
                                   atol=1e-4)
    # a label file written with dump_fair1m_xml re-parses the same way
    q = np.array([[10, 10, 20, 10, 20, 20, 10, 20]], np.float32)
    dump_fair1m_xml(str(tmp_path / 'l.xml'), 'l.tif', q, ['Van'],
                    size=(64, 32))
    ann = parse_fair1m_xml(str(tmp_path / 'l.xml'))
    assert (ann['width'], ann['height'], ann['names']) == (64, 32, ['Van'])
    np.testing.assert_allclose(ann['qboxes'], q)


def test_rbbox_map_hand_computed():
    """One class, 2 ground-truth boxes; detections: a hit (0.9) and a miss
    (0.8). Recall [0.5, 0.5], precision [1, 0.5]: the 11-point AP is 6/11
    (recall thresholds 0..0.5 see precision 1), the area AP is 0.5."""
    gt = dict(bboxes=np.array([[10, 10, 8, 4, 0], [50, 50, 8, 4, 0.5]],
                              np.float32), labels=np.array([0, 0]))
    dets = [[np.array([[10, 10, 8, 4, 0, 0.9], [90, 90, 8, 4, 0, 0.8]],
                      np.float32), np.zeros((0, 6), np.float32)]]
    ap11, res = rbbox_map(dets, [gt], 0.5, True)
    assert ap11 == pytest.approx(6 / 11)
    assert res[1]['num_gts'] == 0  # class 1 has no gt: not in the mean
    ap_area, _ = rbbox_map(dets, [gt], 0.5, False)
    assert ap_area == pytest.approx(0.5)


def test_metric_merges_patches_and_writes(tmp_path):
    """Two patches of image 'A' (offsets 0 and 100) detect the same object
    (it lies in the overlap); merging keeps one, which matches A's label:
    mAP 1. The submission has one XML with the merged box."""
    ann_dir = tmp_path / 'labelXml'
    ann_dir.mkdir()
    write_xml(ann_dir / 'A.xml', [('Van', ['140,40', '160,40', '160,50',
                                           '140,50', '140,40'])],
              size=(300, 200))
    metric = FAIR1MMetric(ann_dir=str(ann_dir),
                          submission_path=str(tmp_path / 'sub.zip'))
    metric.dataset_meta = dict(classes=FAIR1M_CLASSES)
    van = FAIR1M_CLASSES.index('Van')

    def sample(img_id, cx, score):
        return dict(img_id=img_id, pred_instances=dict(
            bboxes=torch.tensor([[cx, 45., 20., 10., 0.]]),
            scores=torch.tensor([score]), labels=torch.tensor([van])))

    metric.process({}, [sample('A__128__0___0', 150., 0.8),
                        sample('A__128__100___0', 50., 0.7)])
    res = metric.evaluate(2)
    assert res == {'fair1m/mAP': 1.0, 'fair1m/AP50': 1.0}
    with zipfile.ZipFile(tmp_path / 'sub.zip') as zf:
        zf.extractall(tmp_path / 'sub')
    ann = parse_fair1m_xml(str(tmp_path / 'sub' / 'A.xml'))
    assert ann['names'] == ['Van']
    np.testing.assert_allclose(ann['scores'], [0.8])
    np.testing.assert_allclose(qboxes_to_rboxes(ann['qboxes']),
                               [[150, 45, 20, 10, 0]], atol=1e-4)


def test_test_split_without_labels(shared_data, tmp_path):
    """The official test split has images only: the splitter writes
    patches, the dataset lists them (``ann_file=''``), and the metric,
    without labels or ``ann_dir``, only writes the submission."""
    root = osp.join(shared_data, LAYOUT)
    out = str(tmp_path / 'split')
    stats = fair1m_split.split_folder(osp.join(root, 'images'), out,
                                      size=600, gap=200)
    assert (stats['patches'], stats['objects'], stats['lost']) == (8, 0, 0)
    ds = FAIR1MDataset(data_root=out, ann_file='', img_suffix='png',
                       data_prefix=dict(img_path='images'), test_mode=True,
                       pipeline=[])
    assert len(ds) == 8
    info = ds.get_data_info(0)
    assert info['img_id'] == '100__600__0___0' and info['instances'] == []
    assert (info['width'], info['height']) == (600, 600)
    metric = FAIR1MMetric(submission_path=str(tmp_path / 'sub'))
    metric.dataset_meta = dict(classes=FAIR1M_CLASSES)
    metric.process({}, [dict(
        img_id=ds.get_data_info(i)['img_id'], pred_instances=dict(
            bboxes=torch.tensor([[300., 300., 40., 20., 0.1]]),
            scores=torch.tensor([0.5]), labels=torch.tensor([3])))
        for i in range(8)])
    assert metric.evaluate(8) == {}
    for name in ('1', '100'):
        ann = parse_fair1m_xml(str(tmp_path / 'sub' / f'{name}.xml'))
        # 4 patches of one image, boxes at 4 distinct full-image places
        assert ann['names'] == ['Boeing787'] * 4
    with pytest.raises(ValueError, match='no \\*.tif images'):
        FAIR1MDataset(data_root=out, ann_file='',
                      data_prefix=dict(img_path='images'), pipeline=[])


def test_split_cli_and_errors(shared_data, tmp_path, capsys):
    root = osp.join(shared_data, LAYOUT)
    stats = fair1m_split.main([
        osp.join(root, 'images'), str(tmp_path / 'cli'), '--ann-dir',
        osp.join(root, 'labelXml'), '--size', '600', '--gap', '200'])
    assert capsys.readouterr().out.strip() == (
        "images=2 patches=8 objects=119 lost=3 skipped={'degenerate': 1}")
    assert stats['patches'] == len(glob.glob(
        str(tmp_path / 'cli' / 'annfiles' / '*.txt'))) == 8
    (tmp_path / 'nolabels').mkdir()
    with pytest.raises(ValueError, match=r'1\.tif: no label file .*1\.xml'):
        fair1m_split.split_folder(osp.join(root, 'images'),
                                  str(tmp_path / 'x'),
                                  str(tmp_path / 'nolabels'))
    with pytest.raises(ValueError, match='must exceed the gap'):
        fair1m_split.split_folder(osp.join(root, 'images'),
                                  str(tmp_path / 'y'), size=200, gap=200)


@pytest.mark.parametrize('kwargs,match', [
    (dict(ann_dir='labels', merge_patches=False), 'needs merge_patches=True'),
    (dict(predict_box_type='qbox'), 'predict_box_type'),
    (dict(format_only=True), 'format_only'),
    (dict(outfile_prefix='x'), 'outfile_prefix'),
])
def test_metric_refuses_options_it_would_ignore(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FAIR1MMetric(**kwargs)
