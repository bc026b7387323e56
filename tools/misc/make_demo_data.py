"""Write a procedurally generated multi-modal demo world for SkySense.

Every sample is written in the pre-training format of
``docs/pretrain_data.md`` (SkySense, https://arxiv.org/abs/2312.10115): an
HR RGB GeoTIFF, a Sentinel-2 series (10 bands, uint16 L2A-like DN, cloud
masks), a Sentinel-1 series (VV/VH dB with speckle) and ``metadata.json``,
plus a downstream segmentation label ``label.png`` (class index at HR
resolution) and split files. The world:

* 5 land-cover classes (cropland, forest, water, built-up, bare) laid out as
  warped Voronoi parcels; each class has its own HR colour and texture
  (field stripes, tree crowns, roofs with shadows, ripples, sand noise);
* S2 spectra are area-weighted mixtures of class end-members; cropland and
  forest follow an NDVI-like seasonal curve (shifted by half a year in the
  southern hemisphere); some dates carry clouds (flagged in
  ``<date>_cloud.tif``) and a few have a nodata stripe (DN 0);
* S1 backscatter per class (cropland seasonal) mixed in linear power with
  multiplicative gamma speckle, a few dates with a NaN stripe;
* 4 regions (lat/lon clusters) with different class mixes.

Deterministic for ``--seed`` (sample ``i`` depends only on ``(seed, i)``)::

    python tools/misc/make_demo_data.py --out data/demo_mm \
        [--num-samples 24] [--hr-size 128] [--seed 0]

The downstream labels are readable by mmseg's ``BaseSegDataset`` with
``data_root=OUT, ann_file='splits/train.txt', img_suffix='/hr.tif',
seg_map_suffix='/label.png', data_prefix=dict(img_path='',
seg_map_path='')`` and ``dict(type='LoadImageFromFile',
imdecode_backend='pillow')`` (cv2 decodes the GeoTIFF too, but warns about
its GeoTIFF tags).
"""
import argparse
import datetime
import json
import os
import os.path as osp

import cv2
import numpy as np
import rasterio
from rasterio.transform import Affine

CLASSES = ('cropland', 'forest', 'water', 'built-up', 'bare')
PALETTE = [[230, 200, 60], [20, 110, 40], [30, 110, 220], [200, 40, 40],
           [190, 160, 110]]
REGIONS = (
    # name, centre (lat, lon), class prior (CLASSES order)
    ('farmland', (48.0, 11.0), (0.55, 0.2, 0.05, 0.1, 0.1)),
    ('boreal', (62.0, 25.0), (0.1, 0.6, 0.25, 0.03, 0.02)),
    ('arid', (24.0, 46.0), (0.1, 0.02, 0.03, 0.25, 0.6)),
    ('coastal_city', (-23.0, -46.0), (0.1, 0.15, 0.25, 0.45, 0.05)),
)
S2_BANDS = ('B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'B8', 'B8A', 'B11', 'B12')
S1_BANDS = ('VV', 'VH')
YEAR = 2021
HR_SCALE = 32  # HR pixels per S2/S1 pixel side
S2_GSD_M = 10.0
# end-member spectra, L2A DN (reflectance x 10000), bands S2_BANDS
SPEC = dict(
    veg=[300, 600, 300, 1000, 2800, 3400, 3600, 3700, 1800, 900],
    soil=[1200, 1500, 1800, 2100, 2300, 2500, 2700, 2800, 3200, 2600],
    water=[600, 500, 300, 250, 200, 180, 150, 140, 80, 50],
    built=[1400, 1450, 1500, 1600, 1700, 1800, 1900, 1950, 2200, 2000],
    sand=[1800, 2300, 2800, 3100, 3300, 3400, 3500, 3600, 4200, 3600],
    cloud=[7500, 7400, 7500, 7600, 7600, 7700, 7800, 7800, 5000, 3500])
SPEC = {k: np.asarray(v, np.float32) for k, v in SPEC.items()}


def greenness(cls: int, doy: float, south: bool) -> float:
    """NDVI-like seasonal vegetation fraction of a class in 0..1."""
    peak = 170.0 + (182.0 if south else 0.0)
    d = (doy - peak + 182.5) % 365.0 - 182.5
    if cls == 0:  # cropland: one growing season
        return float(np.exp(-(d / 45.0)**2))
    if cls == 1:  # forest: evergreen base + deciduous part
        return float(0.6 + 0.35 * np.exp(-(d / 80.0)**2))
    return 0.0


def s2_spectrum(cls: int, doy: float, south: bool) -> np.ndarray:
    """S2 DN spectrum (10,) of a pure class pixel on a day of year."""
    g = greenness(cls, doy, south)
    if cls in (0, 1):
        return g * SPEC['veg'] + (1 - g) * SPEC['soil']
    return SPEC[('water', 'built', 'sand')[cls - 2]]


def s1_backscatter(cls: int, doy: float, south: bool) -> np.ndarray:
    """Mean (VV, VH) backscatter in dB of a pure class pixel."""
    g = greenness(cls, doy, south)
    table = {
        0: (-14.0 + 5.0 * g, -21.0 + 6.0 * g),
        1: (-8.0, -13.0),
        2: (-22.0, -29.0),
        3: (-4.0, -11.0),
        4: (-16.0, -24.0)
    }
    return np.asarray(table[cls], np.float32)


def smooth_noise(rng, shape, sigma):
    """Zero-mean unit-std Gaussian-smoothed noise."""
    n = cv2.GaussianBlur(
        rng.standard_normal(shape).astype(np.float32), (0, 0), sigma)
    return n / (n.std() + 1e-6)


def make_label(rng, size: int, prior) -> np.ndarray:
    """Warped Voronoi parcels with classes drawn from ``prior``."""
    k = int(rng.integers(5, 10))
    seeds = rng.uniform(0, size, (k, 2))
    prior = np.asarray(prior) / sum(prior)
    classes = rng.choice(len(CLASSES), size=k, p=prior)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    yy = yy + 6 * smooth_noise(rng, (size, size), size / 10)
    xx = xx + 6 * smooth_noise(rng, (size, size), size / 10)
    d = (yy[None] - seeds[:, 0, None, None])**2 + \
        (xx[None] - seeds[:, 1, None, None])**2
    return classes[d.argmin(0)].astype(np.uint8)


def render_hr(rng, label: np.ndarray, hr_doy: int, south: bool):
    """HR RGB uint8 (H, W, 3) with class-specific colour and texture."""
    size = label.shape[0]
    img = np.zeros((size, size, 3), np.float32)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    # cropland: oriented stripes, colour from the season
    g = greenness(0, hr_doy, south)
    ang = rng.uniform(0, np.pi)
    stripes = np.sin((xx * np.cos(ang) + yy * np.sin(ang)) * 1.3)
    crop = (1 - g) * np.array([150, 115, 80]) + g * np.array([80, 150, 60])
    img[label == 0] = crop
    img[..., :][label == 0] += 18 * stripes[label == 0, None]
    # forest: dark green with tree-crown blobs
    crowns = smooth_noise(rng, (size, size), 1.5)
    m = label == 1
    img[m] = np.array([35, 85, 40]) + 22 * crowns[m, None]
    # water: smooth blue with ripples
    m = label == 2
    img[m] = np.array([30, 65, 115]) + 4 * smooth_noise(
        rng, (size, size), 1.0)[m, None]
    # built-up: grey ground with roofs and shadows
    m = label == 3
    built = np.full((size, size, 3), 140, np.float32)
    for _ in range(size * size // 150):
        h, w = (int(v) for v in rng.integers(4, 12, 2))
        y, x = (int(v) for v in rng.integers(0, size - 14, 2))
        built[y + 2:y + h + 2, x + 2:x + w + 2] *= 0.55
        roof = (185, 70, 55) if rng.random() < 0.5 else (205, 205, 210)
        built[y:y + h, x:x + w] = roof
    img[m] = built[m]
    # bare: sand with fine and coarse noise
    m = label == 4
    img[m] = np.array([195, 170, 125]) + (
        10 * rng.standard_normal((size, size)) +
        15 * smooth_noise(rng, (size, size), 6))[m, None]
    img += rng.normal(0, 3, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def class_fractions(label: np.ndarray) -> np.ndarray:
    """Per Sentinel pixel area fraction of each class: (C, h, w)."""
    size = label.shape[0]
    s = size // HR_SCALE
    onehot = (label[None] == np.arange(len(CLASSES))[:, None, None])
    return onehot.reshape(len(CLASSES), s, HR_SCALE, s,
                          HR_SCALE).mean((2, 4)).astype(np.float32)


def series_dates(rng, n: int, offset: float):
    """``n`` sorted distinct dates of YEAR spread over the year."""
    base = np.linspace(15 + offset, 350 + offset, n)
    doys = np.clip(np.round(base + rng.uniform(-8, 8, n)), 1, 365)
    doys = np.unique(doys.astype(int))
    return [
        datetime.date(YEAR, 1, 1) + datetime.timedelta(days=int(d) - 1)
        for d in doys
    ]


def write_tif(path, array, transform, dtype, nodata=None, names=None):
    """Write a (C, h, w) array as a GeoTIFF in EPSG:4326."""
    c, h, w = array.shape
    with rasterio.open(
            path, 'w', driver='GTiff', height=h, width=w, count=c,
            dtype=dtype, crs='EPSG:4326', transform=transform,
            nodata=nodata) as ds:
        ds.write(array.astype(dtype))
        for i, name in enumerate(names or []):
            ds.set_band_description(i + 1, name)


def make_sample(out: str, seed: int, index: int, hr_size: int,
                num_s2: int, num_s1: int) -> dict:
    """Write sample ``index`` and return its summary."""
    rng = np.random.default_rng([seed, index])
    name, (clat, clon), prior = REGIONS[index % len(REGIONS)]
    lat = float(clat + rng.uniform(-1, 1))
    lon = float(clon + rng.uniform(-1, 1))
    south = lat < 0
    sid = f'demo_{index:05d}'
    root = osp.join(out, sid)
    os.makedirs(osp.join(root, 's2'), exist_ok=True)
    os.makedirs(osp.join(root, 's1'), exist_ok=True)

    label = make_label(rng, hr_size, prior)
    hr_date = datetime.date(YEAR, 1, 1) + datetime.timedelta(
        days=int(rng.integers(0, 365)))
    hr_doy = hr_date.timetuple().tm_yday
    hr = render_hr(rng, label, hr_doy, south)

    s = hr_size // HR_SCALE
    lr_deg = S2_GSD_M / 111320.0
    hr_deg = lr_deg / HR_SCALE
    west, north = lon - hr_size / 2 * hr_deg, lat + hr_size / 2 * hr_deg
    write_tif(osp.join(root, 'hr.tif'), hr.transpose(2, 0, 1),
              Affine(hr_deg, 0, west, 0, -hr_deg, north), 'uint8',
              names=('R', 'G', 'B'))
    cv2.imwrite(osp.join(root, 'label.png'), label)
    lr_tf = Affine(lr_deg, 0, west, 0, -lr_deg, north)
    frac = class_fractions(label)  # (C, s, s)

    for date in series_dates(rng, num_s2, 0):
        doy = date.timetuple().tm_yday
        spec = np.stack([s2_spectrum(c, doy, south) for c in range(5)])
        img = np.einsum('cb,chw->bhw', spec, frac)
        img *= rng.uniform(0.95, 1.05) * (
            1 + 0.02 * rng.standard_normal(img.shape))
        cloud = np.zeros((s, s), np.uint8)
        if rng.random() < 0.35:
            cy, cx = rng.uniform(0, s, 2)
            r = rng.uniform(0.6, max(1.0, 0.6 * s))
            yy, xx = np.mgrid[0:s, 0:s]
            cloud = (((yy - cy)**2 + (xx - cx)**2) < r * r).astype(np.uint8)
            opacity = rng.uniform(0.7, 1.0)
            img = np.where(cloud[None] > 0, (1 - opacity) * img +
                           opacity * SPEC['cloud'][:, None, None], img)
        img = np.clip(np.round(img), 1, 10000)
        if rng.random() < 0.1 and s > 1:  # orbit edge: nodata stripe
            img[:, :, 0] = 0
        stem = date.strftime('%Y%m%d')
        write_tif(osp.join(root, 's2', f'{stem}.tif'), img, lr_tf, 'uint16',
                  nodata=0, names=S2_BANDS)
        write_tif(osp.join(root, 's2', f'{stem}_cloud.tif'), cloud[None],
                  lr_tf, 'uint8', names=('cloud',))

    for date in series_dates(rng, num_s1, 7):
        doy = date.timetuple().tm_yday
        db = np.stack([s1_backscatter(c, doy, south) for c in range(5)])
        lin = np.einsum('cb,chw->bhw', 10**(db / 10), frac)
        lin *= rng.gamma(4.4, 1 / 4.4, lin.shape)  # speckle, ENL 4.4
        img = (10 * np.log10(lin)).astype(np.float32)
        if rng.random() < 0.1 and s > 1:
            img[:, -1, :] = np.nan
        write_tif(osp.join(root, 's1', f'{date.strftime("%Y%m%d")}.tif'),
                  img, lr_tf, 'float32', nodata=float('nan'), names=S1_BANDS)

    fr = np.bincount(label.ravel(), minlength=5) / label.size
    meta = dict(
        sample_id=sid, lat=lat, lon=lon, hr_date=hr_date.isoformat(),
        crs='EPSG:4326', hr_gsd_m=S2_GSD_M / HR_SCALE, s2_gsd_m=S2_GSD_M,
        s1_gsd_m=S2_GSD_M, region=name,
        class_fractions={c: round(float(f), 4) for c, f in zip(CLASSES, fr)},
        source='tools/misc/make_demo_data.py (synthetic)')
    with open(osp.join(root, 'metadata.json'), 'w') as f:
        json.dump(meta, f, indent=1)
    return meta


def generate(out: str, num_samples: int = 24, hr_size: int = 128,
             seed: int = 0, num_s2: int = 6, num_s1: int = 4,
             val_fraction: float = 0.25) -> str:
    """Write the demo world under ``out`` and return ``out``.

    Args:
        out (str): Output folder.
        num_samples (int): Number of samples.
        hr_size (int): HR side in pixels, a multiple of 32.
        seed (int): Random seed.
        num_s2 (int): S2 dates per sample.
        num_s1 (int): S1 dates per sample.
        val_fraction (float): Share of samples in ``splits/val.txt``.

    Returns:
        str: ``out``.
    """
    if hr_size % HR_SCALE or hr_size <= 0:
        raise ValueError(f'--hr-size must be a multiple of {HR_SCALE}')
    os.makedirs(osp.join(out, 'splits'), exist_ok=True)
    ids = [
        make_sample(out, seed, i, hr_size, num_s2, num_s1)['sample_id']
        for i in range(num_samples)
    ]
    n_val = int(round(num_samples * val_fraction))
    val = ids[num_samples - n_val:]
    train = ids[:num_samples - n_val]
    for split, items in (('all', ids), ('train', train), ('val', val)):
        with open(osp.join(out, 'splits', f'{split}.txt'), 'w') as f:
            f.write(''.join(f'{i}\n' for i in items))
    with open(osp.join(out, 'classes.json'), 'w') as f:
        json.dump(
            dict(classes=list(CLASSES), palette=PALETTE,
                 regions=[dict(name=n, center=c, prior=p)
                          for n, c, p in REGIONS]), f, indent=1)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--num-samples', type=int, default=24)
    parser.add_argument('--hr-size', type=int, default=128)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--num-s2', type=int, default=6)
    parser.add_argument('--num-s1', type=int, default=4)
    args = parser.parse_args(argv)
    generate(args.out, args.num_samples, args.hr_size, args.seed,
             args.num_s2, args.num_s1)
    print(f'wrote {args.num_samples} samples to {args.out}')


if __name__ == '__main__':
    main()
