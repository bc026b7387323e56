"""tools/dataset_converters/levircd.py on the real LEVIR-CD sample: the
1024x1024 tile test_2 of the official release is cut into the 16
non-overlapping 256x256 crops of the protocol, and the crops BIT-CD released
for that tile are reproduced bit for bit."""
import os
import os.path as osp
import shutil

import numpy as np
import pytest
from PIL import Image

from dataset_converters import levircd

TTP = 'LEVIR-CD/KyanChen__TTP/samples'
BIT = 'LEVIR-CD/justchenhao__BIT_CD/samples'


def test_crops_reproduce_bit_cd_release(shared_data, tmp_path):
    out = str(tmp_path / 'crops')
    n = levircd.main([osp.join(shared_data, TTP), out])
    assert n == 2 * 16
    for sub in ('A', 'B', 'label'):
        names = sorted(os.listdir(osp.join(out, sub)))
        assert len(names) == 32
        assert names[:5] == ['test_1_0000_0000.png', 'test_1_0000_0256.png',
                             'test_1_0000_0512.png', 'test_1_0000_0768.png',
                             'test_1_0256_0000.png']
        for name in ('test_2_0000_0000.png', 'test_2_0000_0512.png'):
            ours = np.asarray(Image.open(osp.join(out, sub, name)))
            theirs = np.asarray(Image.open(osp.join(shared_data, BIT, sub,
                                                    name)))
            np.testing.assert_array_equal(ours, theirs)
    # the crops tile the original exactly
    tile = np.asarray(Image.open(osp.join(shared_data, TTP, 'label',
                                          'test_1.png')))
    crop = np.asarray(Image.open(osp.join(out, 'label',
                                          'test_1_0768_0256.png')))
    np.testing.assert_array_equal(crop, tile[768:1024, 256:512])


def test_split_layout_and_errors(shared_data, tmp_path):
    src = tmp_path / 'levir' / 'test'
    for sub in ('A', 'B', 'label'):
        os.makedirs(src / sub)
        shutil.copy(osp.join(shared_data, TTP, sub, 'test_1.png'), src / sub)
    out = tmp_path / 'out'
    assert levircd.main([str(tmp_path / 'levir'), str(out), '--splits',
                         'test']) == 16
    assert len(os.listdir(out / 'test' / 'label')) == 16
    os.remove(src / 'B' / 'test_1.png')
    with pytest.raises(FileNotFoundError, match=r'B/test_1.png: missing B'):
        levircd.main([str(tmp_path / 'levir'), str(out), '--splits', 'test'])
    with pytest.raises(ValueError, match='not a multiple of the crop 300'):
        levircd.crop_offsets(1024, 300)
