"""Write a small OSCD release tree (official layout, generated values).

No real OSCD imagery is available (../shared/data/MANIFEST.md): the folder
and file names follow the Onera release as mirrored by the FAKE-format
fixture ``_fake_format_exact/OSCD/.../oscd`` (13 single-band ``Bxx.tif`` per
``imgs_{1,2}_rect``, ``dates.txt``, ``cm/cm.png``) and
BENCHMARK_PROTOCOLS.md (``train.txt`` / ``test.txt``); the pixel values are
random, with valid 0/255 change masks. Layout only, never real numbers.
"""
import os
import os.path as osp

import numpy as np
import rasterio
from PIL import Image

IMAGES = 'Onera Satellite Change Detection dataset - Images'
LABELS = 'Onera Satellite Change Detection dataset - {} Labels'
BANDS = ('B01', 'B02', 'B03', 'B04', 'B05', 'B06', 'B07', 'B08', 'B8A',
         'B09', 'B10', 'B11', 'B12')


def write_band(path, array):
    with rasterio.open(path, 'w', driver='GTiff', height=array.shape[0],
                       width=array.shape[1], count=1,
                       dtype=str(array.dtype)) as dst:
        dst.write(array, 1)


def make_oscd(root, train=('train1', 'train2'), test=('test', ),
              size=(40, 48), seed=0):
    """Write the tree; band ``Bxx`` of date ``d`` is ``100 * band_idx + d``
    plus noise so tests can check band selection. Returns ``root``."""
    rng = np.random.default_rng(seed)
    images = osp.join(root, IMAGES)
    os.makedirs(images, exist_ok=True)
    for split, cities in (('train', train), ('test', test)):
        with open(osp.join(images, f'{split}.txt'), 'w') as f:
            f.write(','.join(cities))
        for city in cities:
            for d in (1, 2):
                folder = osp.join(images, city, f'imgs_{d}_rect')
                os.makedirs(folder, exist_ok=True)
                for i, band in enumerate(BANDS):
                    arr = (1000 * i + d * 10 +
                           rng.integers(0, 5, size)).astype(np.uint16)
                    write_band(osp.join(folder, band + '.tif'), arr)
            with open(osp.join(images, city, 'dates.txt'), 'w') as f:
                f.write('date_1: 20161130\ndate_2: 20170829\n')
            cm_dir = osp.join(root, LABELS.format(split.capitalize()), city,
                              'cm')
            os.makedirs(cm_dir, exist_ok=True)
            cm = np.zeros(size, np.uint8)
            cm[5:15, 10:30] = 255
            Image.fromarray(cm).save(osp.join(cm_dir, 'cm.png'))
    return root
