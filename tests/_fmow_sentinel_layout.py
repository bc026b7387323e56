"""Write a tiny fMoW-Sentinel tree in the layout SatMAE documents.

No fMoW-Sentinel data is in ../shared/data, so the tests of SkySense's
(https://arxiv.org/abs/2312.10115) fMoW-S2 benchmark use this generator.

Documented (sustainlab-group/SatMAE README.md and util/datasets.py):

* ``fmow-sentinel/<split>/<category>/<category>_<location_id>/
  <category>_<location_id>_<image_id>.tif`` with split in train/val/test;
* ``fmow-sentinel/<split>.csv`` with columns category, location_id,
  image_id, timestamp, image_path (the path "may need rebuilding");
* 13-band GeoTIFFs in the order B1 B2 B3 B4 B5 B6 B7 B8 B8A B9 B10 B11 B12;
* the 62 category names.

[UNCONFIRMED] (not in the documentation; chosen here): uint16 pixels,
the ISO timestamp spelling ``YYYY-MM-DDTHH:MM:SSZ``, integer location and
image ids, the CSV column order, and the ``image_path`` values (written as a
path of another machine, so readers must rebuild it), the raster size
(tiny here, the real images are larger and vary).
"""
import csv
import os
import os.path as osp

import numpy as np

COLUMNS = ('category', 'location_id', 'image_id', 'timestamp', 'image_path')

#: (category, location_id, [timestamps]) per split; dates deliberately
#: out of order in the CSV.
DEFAULT_SERIES = {
    'train': [
        ('airport', 0, ['2018-03-01T10:00:00Z', '2017-01-10T10:00:00Z',
                        '2019-12-31T10:00:00Z']),
        ('zoo', 7, ['2016-02-29T09:30:00Z', '2016-07-04T09:30:00Z']),
        ('crop_field', 3, ['2017-06-21T11:00:00Z', '2017-08-01T11:00:00Z',
                           '2017-10-15T11:00:00Z', '2018-01-02T11:00:00Z',
                           '2018-05-05T11:00:00Z']),
    ],
    'val': [
        ('airport', 11, ['2018-04-01T10:00:00Z', '2017-02-10T10:00:00Z']),
        ('zoo', 12, ['2016-12-31T09:30:00Z']),
    ],
}


def write_fmow_sentinel(root, series=None, size=8, seed=0):
    """Write the tree below ``root/fmow-sentinel``.

    Args:
        root (str): Output folder.
        series (dict, optional): ``{split: [(category, location_id,
            [timestamp, ...]), ...]}``. Defaults to :data:`DEFAULT_SERIES`.
        size (int): Raster side. Defaults to 8.
        seed (int): Pixel seed. Defaults to 0.

    Returns:
        str: The ``fmow-sentinel`` folder.
    """
    import rasterio
    from affine import Affine
    series = DEFAULT_SERIES if series is None else series
    rng = np.random.default_rng(seed)
    base = osp.join(root, 'fmow-sentinel')
    for split, locations in series.items():
        rows = []
        for cat, loc, stamps in locations:
            stem = f'{cat}_{loc}'
            folder = osp.join(base, split, cat, stem)
            os.makedirs(folder, exist_ok=True)
            for img_id, stamp in enumerate(stamps):
                path = osp.join(folder, f'{stem}_{img_id}.tif')
                data = rng.integers(0, 4000, (13, size, size),
                                    dtype=np.uint16)
                with rasterio.open(
                        path, 'w', driver='GTiff', height=size, width=size,
                        count=13, dtype='uint16', crs='EPSG:4326',
                        transform=Affine(1e-4, 0.0, 10.0, 0.0, -1e-4,
                                                    50.0)) as dst:
                    dst.write(data)
                rows.append(dict(
                    category=cat, location_id=loc, image_id=img_id,
                    timestamp=stamp,
                    image_path=f'/data/fmow-sentinel/{split}/{cat}/{stem}/'
                    f'{stem}_{img_id}.tif'))
        with open(osp.join(base, f'{split}.csv'), 'w', newline='') as f:
            writer = csv.DictWriter(f, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
    return base


if __name__ == '__main__':
    import sys
    print(write_fmow_sentinel(sys.argv[1]))
