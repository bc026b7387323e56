"""BigEarthNet-S2 v1.0 for the SkySense (https://arxiv.org/abs/2312.10115)
BEN-S2 benchmark, on the 3 real v1.0 example patches of ../shared/data
(kai-tub/bigearthnet_common BigEarthNet-S2-Example): the 43 -> 19 label
mapping on the real label JSONs, split CSVs, exclusions, the seeded label
ratio subset, the band loader and the errors for bad patches."""
import json
import os.path as osp
import shutil

import numpy as np
import pytest
import rasterio
import torch

from skysense_mm.datasets.bigearthnet import (BEN19_CLASSES, CORINE_LABELS,
                                              CORINE_TO_BEN19, S2_BANDS,
                                              BigEarthNetS2Dataset,
                                              LoadBigEarthNetS2Bands,
                                              map_corine_to_ben19)

EXAMPLE = ('BigEarthNet/kai-tub__bigearthnet_common/src/bigearthnet_common/'
           'BigEarthNet-S2-Example')
P1 = 'S2A_MSIL2A_20170613T101031_87_48'
P2 = 'S2A_MSIL2A_20171221T112501_56_35'
P3 = 'S2B_MSIL2A_20170924T93020_69_24'
S1 = {P1: 'S1A_IW_GRDH_1SDV_20170613T165043_33UUP_87_48',
      P2: 'S1A_IW_GRDH_1SDV_20171221T064238_29SND_56_35',
      P3: 'S1A_IW_GRDH_1SDV_20170925T043256_35VPK_69_24'}

# Expected 19-class targets, by hand from the mapping table
# (label_indices.json order: 0 Urban fabric ... 18 Marine waters):
EXPECTED = {
    # Non-irrigated arable land -> 2 Arable land; Land principally occupied
    # by agriculture ... -> 6 (same name)
    P1: [2, 6],
    # Complex cultivation patterns -> 5; Land principally ... -> 6;
    # Broad-leaved forest -> 8; Transitional woodland/shrub -> 13
    P2: [5, 6, 8, 13],
    # Coniferous forest -> 9; Mixed forest -> 10; Transitional
    # woodland/shrub -> 13; Peatbogs -> 15 Inland wetlands; Water bodies ->
    # 17 Inland waters
    P3: [9, 10, 13, 15, 17],
}


def _onehot(indices):
    v = np.zeros(19, np.int64)
    v[indices] = 1
    return v.tolist()


@pytest.fixture
def example(shared_data):
    return osp.join(shared_data, EXAMPLE)


@pytest.fixture
def patch_copy(example, tmp_path):
    """A writable copy of the 3 example patches."""
    root = tmp_path / 'ben'
    shutil.copytree(example, root)
    return str(root)


def test_nomenclature_tables():
    assert len(CORINE_LABELS) == 43 and len(BEN19_CLASSES) == 19
    unmapped = [k for k, v in CORINE_TO_BEN19.items() if v is None]
    assert len(unmapped) == 11
    assert 'Airports' in unmapped and 'Burnt areas' in unmapped
    # every 19-class label is the target of some CORINE label
    assert set(CORINE_TO_BEN19.values()) - {None} == set(BEN19_CLASSES)
    assert BEN19_CLASSES[0] == 'Urban fabric'
    assert BEN19_CLASSES[18] == 'Marine waters'
    assert map_corine_to_ben19(['Continuous urban fabric',
                                'Discontinuous urban fabric',
                                'Sea and ocean', 'Estuaries']) == [0, 18]


def test_real_label_jsons_map_to_hand_computed_targets(example):
    for name, expected in EXPECTED.items():
        path = osp.join(example, name, f'{name}_labels_metadata.json')
        with open(path) as f:
            labels = json.load(f)['labels']
        assert map_corine_to_ben19(labels, path) == expected

    ds = BigEarthNetS2Dataset(
        data_prefix=example,
        pipeline=[dict(type='skysense_mm.LoadBigEarthNetS2Bands'),
                  dict(type='PackInputs')])
    assert len(ds) == 3 and ds.skipped_unlabelled == []
    assert ds.metainfo['classes'] == BEN19_CLASSES
    for i, name in enumerate([P1, P2, P3]):
        info = ds.get_data_info(i)
        assert info['patch_name'] == name
        assert info['gt_label'] == EXPECTED[name]
        out = ds[i]
        assert out['inputs'].shape == (10, 120, 120)
        assert out['inputs'].dtype == torch.float32
        from mmpretrain.structures import label_to_onehot
        assert label_to_onehot(out['data_samples'].gt_label,
                               19).tolist() == _onehot(EXPECTED[name])


def test_split_csv_formats_exclusions_and_subset(example, tmp_path):
    pairs = tmp_path / 'train.csv'  # rsim MM split: S2name,S1name
    pairs.write_text(f'{P3},{S1[P3]}\n{P1},{S1[P1]}\n')
    ds = BigEarthNetS2Dataset(ann_file=str(pairs), data_prefix=example)
    assert [ds.get_data_info(i)['patch_name'] for i in range(2)] == [P3, P1]

    names = tmp_path / 'names.csv'  # bigearthnet_common: S2 names only
    names.write_text(f'{P1}\n{P2}\n{P3}\n')
    snow = tmp_path / 'snow.csv'
    snow.write_text(f'{P2}\n')
    ds = BigEarthNetS2Dataset(ann_file=str(names), data_prefix=example,
                              exclude_files=[str(snow)])
    assert len(ds) == 2 and ds.num_excluded == 1
    assert [ds.get_data_info(i)['gt_label'] for i in range(2)] == \
        [EXPECTED[P1], EXPECTED[P3]]

    picks = []
    for seed in (0, 0, 1):
        sub = BigEarthNetS2Dataset(ann_file=str(names), data_prefix=example,
                                   train_ratio=0.34, subset_seed=seed)
        assert len(sub) == 1  # round(0.34 * 3)
        picks.append(sub.get_data_info(0)['patch_name'])
    assert picks[0] == picks[1]  # seeded
    expected = [P1, P2, P3][int(np.random.default_rng(0).permutation(3)[0])]
    assert picks[0] == expected
    with pytest.raises(ValueError, match='train_ratio'):
        BigEarthNetS2Dataset(data_prefix=example, train_ratio=0.0)


def test_band_loader_order_and_resampling(example):
    results = LoadBigEarthNetS2Bands()(
        dict(img_path=osp.join(example, P1), patch_name=P1))
    img = results['img']
    assert img.shape == (120, 120, 10) and img.dtype == np.float32
    assert S2_BANDS == ('B02', 'B03', 'B04', 'B05', 'B06', 'B07', 'B08',
                        'B8A', 'B11', 'B12')
    for c, band in enumerate(S2_BANDS):
        with rasterio.open(osp.join(example, P1, f'{P1}_{band}.tif')) as src:
            raw = src.read(1).astype(np.float32)
        if band in ('B02', 'B03', 'B04', 'B08'):  # 10 m: read as is
            assert raw.shape == (120, 120)
            np.testing.assert_array_equal(img[..., c], raw)
        else:  # 20 m: 60x60 bilinearly resampled to 120x120
            assert raw.shape == (60, 60)
            assert abs(img[..., c].mean() - raw.mean()) < 0.02 * raw.mean()
            assert img[..., c].min() >= raw.min()
            assert img[..., c].max() <= raw.max()
    nearest = LoadBigEarthNetS2Bands(resampling='nearest')(
        dict(img_path=osp.join(example, P1), patch_name=P1))['img']
    with rasterio.open(osp.join(example, P1, f'{P1}_B05.tif')) as src:
        raw = src.read(1).astype(np.float32)
    np.testing.assert_array_equal(nearest[..., 3],
                                  raw.repeat(2, 0).repeat(2, 1))


def test_missing_band_file_names_patch_and_band(patch_copy):
    import os
    os.remove(osp.join(patch_copy, P2, f'{P2}_B8A.tif'))
    ds = BigEarthNetS2Dataset(
        data_prefix=patch_copy,
        pipeline=[dict(type='skysense_mm.LoadBigEarthNetS2Bands')])
    with pytest.raises(FileNotFoundError, match=f'{P2}.*band B8A'):
        ds.prepare_data(1)


def test_unknown_corine_name_names_file_and_field(patch_copy):
    path = osp.join(patch_copy, P1, f'{P1}_labels_metadata.json')
    with open(path) as f:
        meta = json.load(f)
    meta['labels'] = ['Pastures', 'Glaciers and perpetual snow']
    with open(path, 'w') as f:
        json.dump(meta, f)
    with pytest.raises(ValueError) as err:
        BigEarthNetS2Dataset(data_prefix=patch_copy)
    msg = str(err.value)
    assert path in msg and '"labels"' in msg
    assert 'Glaciers and perpetual snow' in msg
    with open(path, 'w') as f:
        f.write('{"labels": ["Pastures"')  # truncated
    with pytest.raises(ValueError, match='not valid JSON'):
        BigEarthNetS2Dataset(data_prefix=patch_copy)


def test_patch_without_19_class_label_is_counted_skip(patch_copy):
    path = osp.join(patch_copy, P3, f'{P3}_labels_metadata.json')
    with open(path) as f:
        meta = json.load(f)
    meta['labels'] = ['Airports', 'Port areas', 'Intertidal flats']
    with open(path, 'w') as f:
        json.dump(meta, f)
    ds = BigEarthNetS2Dataset(data_prefix=patch_copy)
    assert len(ds) == 2 and ds.skipped_unlabelled == [P3]


def test_missing_split_file_and_label_json(patch_copy, tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.csv'):
        BigEarthNetS2Dataset(ann_file=str(tmp_path / 'nope.csv'),
                             data_prefix=patch_copy)
    import os
    os.remove(osp.join(patch_copy, P1, f'{P1}_labels_metadata.json'))
    with pytest.raises(FileNotFoundError, match=f'{P1}_labels_metadata'):
        BigEarthNetS2Dataset(data_prefix=patch_copy)
