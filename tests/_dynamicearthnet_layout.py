"""Write a small DynamicEarthNet release tree (official layout, generated
values).

No real DynamicEarthNet data is available (../shared/data/MANIFEST.md). The
tree follows BENCHMARK_PROTOCOLS.md section (a):

Faithful to the documented release:

- Planet Fusion: ``planet/<zone>/<grid>/<cube>/PF-SR/YYYY-MM-DD.tif``,
  4-band GeoTIFFs stored **B, G, R, NIR** (uint16), plus the sibling
  ``PF-QA/`` folder (one file per month, unused by the loaders);
- labels: ``labels/<cube>_<zone>/Labels/Raster/<dir>/<dir>-YYYY_MM_01.tif``,
  **7-band one-hot** GeoTIFFs (band k = 255 where class k is present; class
  6 = snow & ice), one per month on the 1st;
- split files ``dynnet_training_splits/{train,val,test}.txt``: one line per
  (cube, month), ``/reprocess-cropped/UTM-24000/<zone>/<grid>/<cube>/PF-SR
  /labels/<cube>_<zone>/Labels/Raster/<dir>/<dir>-YYYY_MM_01.tif YYYY-MM``.

[UNCONFIRMED] per the protocols document: the ``<zone>/<grid>/`` levels of
the Planet path (inferred from split-file paths), the label folder name
``<dir>`` (``<zone>-<lon>-<lat>-L3H-SR`` here), the uint16 dtype, the S2
monthly composite path ``sentinel2/<cube>/<cube>_YYYY_MM.tif``, its 12-band
order (all bands but B09: B01-B08, B8A, B10, B11, B12) and its raster size
(here about 10/3 of the label pixel size, i.e. 10 m vs 3 m).

Not faithful (tiny on purpose): 64x64 label / Planet rasters instead of
1024x1024, 2 cubes x a few months, only the ``weekly`` days of each month
(01, 05, 10, 15, 20, 25) instead of every day, random pixel values.
Planet band ``b`` (stored order B, G, R, NIR) of day ``d`` holds
``1000 * (b + 1) + d`` so tests can check the band reordering and the
frame selection; S2 band ``i`` (stored order) holds ``100 * (i + 1)``.
"""
import os
import os.path as osp

import numpy as np
import rasterio
from affine import Affine

CUBES = (
    # (cube id, UTM zone, grid folder, label folder)
    ('1311_3077_13', '10N', '24E-187N', '10N-122W-37N-L3H-SR'),
    ('2065_3647_13', '32N', '29E-178N', '32N-12E-45N-L3H-SR'),
)
WEEKLY_DAYS = (1, 5, 10, 15, 20, 25)
S2_BANDS_12 = ('B01', 'B02', 'B03', 'B04', 'B05', 'B06', 'B07', 'B08', 'B8A',
               'B10', 'B11', 'B12')


def write_tif(path, array, pixel_size=3.0):
    """Write a ``(C, H, W)`` array as a C-band GeoTIFF (UTM 10N grid)."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    with rasterio.open(path, 'w', driver='GTiff', height=array.shape[1],
                       width=array.shape[2], count=array.shape[0],
                       dtype=str(array.dtype), crs='EPSG:32610',
                       transform=Affine(pixel_size, 0.0, 500000.0, 0.0,
                                      -pixel_size, 4200000.0)) as dst:
        dst.write(array)


def onehot(index_map, num_bands=7):
    """Index map (255 = no class set) -> ``(7, H, W)`` uint8 one-hot 0/255."""
    out = np.zeros((num_bands, ) + index_map.shape, np.uint8)
    for k in range(num_bands):
        out[k][index_map == k] = 255
    return out


def label_path(cube, zone, label_dir, month):
    y, m = month.split('-')
    return (f'labels/{cube}_{zone}/Labels/Raster/{label_dir}/'
            f'{label_dir}-{y}_{m}_01.tif')


def make_dynamicearthnet(root, months=('2018-01', '2018-02', '2018-03'),
                         size=64, s2_size=20, splits=None, seed=0):
    """Write the tree under ``root``.

    Args:
        root (str): Output folder.
        months (tuple[str]): ``YYYY-MM`` months with a label.
        size (int): Label / Planet raster size.
        s2_size (int): S2 composite raster size.
        splits (dict, optional): ``{split: [cube ids]}``; defaults to both
            cubes in every split.
        seed (int): Random seed.

    Returns:
        dict: ``{'root', 'labels': {(cube, month): (H, W) uint8 expected
        class index map (0-5, 255 = snow/ice or empty)}}``.
    """
    rng = np.random.default_rng(seed)
    expected = {}
    cubes = {c[0]: c for c in CUBES}
    if splits is None:
        splits = {s: list(cubes) for s in ('train', 'val', 'test')}
    for cube, zone, grid, label_dir in CUBES:
        planet = osp.join(root, 'planet', zone, grid, cube)
        for month in months:
            for day in WEEKLY_DAYS:
                img = np.stack([
                    np.full((size, size), 1000 * (b + 1) + day, np.uint16)
                    for b in range(4)
                ]) + rng.integers(0, 3, (4, size, size)).astype(np.uint16)
                write_tif(osp.join(planet, 'PF-SR', f'{month}-{day:02d}.tif'),
                          img)
            write_tif(osp.join(planet, 'PF-QA', f'{month}-01.tif'),
                      np.zeros((1, size, size), np.uint8))
            # classes 0-6 in blocks (+ some empty pixels), changing by month
            classes = rng.integers(0, 7, (size // 8, size // 8))
            index = np.kron(classes, np.ones((8, 8), np.int64))
            index[rng.random((size, size)) < 0.02] = 255
            write_tif(osp.join(root, label_path(cube, zone, label_dir, month)),
                      onehot(index))
            target = index.astype(np.uint8)
            target[target == 6] = 255
            expected[(cube, month)] = target
            y, m = month.split('-')
            s2 = np.stack([
                np.full((s2_size, s2_size), 100 * (i + 1), np.uint16)
                for i in range(len(S2_BANDS_12))
            ])
            write_tif(osp.join(root, 'sentinel2', cube, f'{cube}_{y}_{m}.tif'),
                      s2, pixel_size=3.0 * size / s2_size)
    split_dir = osp.join(root, 'dynnet_training_splits')
    os.makedirs(split_dir, exist_ok=True)
    for split, ids in splits.items():
        lines = []
        for cube in ids:
            _, zone, grid, label_dir = cubes[cube]
            for month in months:
                lines.append(
                    f'/reprocess-cropped/UTM-24000/{zone}/{grid}/{cube}/PF-SR '
                    f'/{label_path(cube, zone, label_dir, month)} {month}')
        with open(osp.join(split_dir, f'{split}.txt'), 'w') as f:
            f.write('\n'.join(lines) + '\n')
    return dict(root=root, labels=expected)
