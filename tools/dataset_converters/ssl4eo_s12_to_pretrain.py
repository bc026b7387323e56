"""Convert SSL4EO-S12 locations into the skysense_mm pre-training format.

SSL4EO-S12 ships one folder per location and acquisition with one GeoTIFF
per band::

    SRC/s2a/<location>/<YYYYMMDDTHHMMSS_..._Txxxxx>/B1.tif ... B12.tif   (L2A)
    SRC/s1/<location>/S1A_IW_GRDH_1SDV_<YYYYMMDDTHHMMSS>_.../VV.tif, VH.tif

This tool writes ``OUT/<location>/`` in the format of
``docs/pretrain_data.md`` (SkySense, https://arxiv.org/abs/2312.10115):
the 10 SkySense bands of every S2 date stacked into ``s2/<YYYYMMDD>.tif``
(nodata 0), VV/VH into ``s1/<YYYYMMDD>.tif`` (nodata NaN), every band
reprojected onto one common grid (a centre window of ``--size`` pixels of
the 10 m B2 grid; 20 m bands nearest-neighbour, S1 bilinear). SSL4EO-S12
has no HR image and no per-pixel cloud mask: ``hr.tif`` is a true-colour
stand-in (B4, B3, B2 of the least-nodata S2 date, DN/3000 -> 0..255,
upsampled ``--hr-scale`` times) flagged ``hr_source: s2_rgb_upsampled`` in
``metadata.json``; use it to exercise the pipeline, not as HR data::

    python tools/dataset_converters/ssl4eo_s12_to_pretrain.py SRC OUT \
        [--s2-dir s2a] [--size 8] [--hr-scale 32]
"""
import argparse
import json
import os
import os.path as osp

import cv2
import numpy as np
import rasterio
from rasterio.transform import Affine
from rasterio.warp import Resampling, reproject, transform as warp_xy

from skysense_mm.datasets.pretrain_format import (DEFAULT_HR_SCALE, S1_BANDS,
                                                  S2_BANDS)


def _target_grid(b2_path, size):
    """Centre ``size`` x ``size`` window of the B2 (10 m) grid."""
    with rasterio.open(b2_path) as ds:
        if size > min(ds.height, ds.width):
            raise ValueError(f'{b2_path}: --size {size} larger than '
                             f'{ds.height}x{ds.width}')
        col, row = (ds.width - size) // 2, (ds.height - size) // 2
        return ds.crs, ds.transform @ Affine.translation(col, row)


def _warp(path, crs, tf, size, resampling, dtype):
    out = np.zeros((size, size), dtype)
    with rasterio.open(path) as ds:
        reproject(
            source=rasterio.band(ds, 1), destination=out, dst_crs=crs,
            dst_transform=tf, resampling=resampling,
            src_nodata=ds.nodata, dst_nodata=0 if dtype == 'uint16'
            else np.nan)
    return out


def _write(path, data, crs, tf, nodata, names):
    with rasterio.open(path, 'w', driver='GTiff', height=data.shape[1],
                       width=data.shape[2], count=data.shape[0],
                       dtype=data.dtype, crs=crs, transform=tf,
                       nodata=nodata) as ds:
        ds.write(data)
        for i, name in enumerate(names):
            ds.set_band_description(i + 1, name)


def convert_location(src, out, location, s2_dir='s2a', size=8,
                     hr_scale=DEFAULT_HR_SCALE):
    """Convert one location; return its sample id."""
    s2_root = osp.join(src, s2_dir, location)
    stamps = sorted(os.listdir(s2_root))
    if not stamps:
        raise ValueError(f'{s2_root}: no S2 acquisitions')
    crs, tf = _target_grid(osp.join(s2_root, stamps[0], 'B2.tif'), size)
    dst = osp.join(out, location)
    os.makedirs(osp.join(dst, 's2'), exist_ok=True)
    best = None
    for stamp in stamps:
        bands = np.stack([
            _warp(osp.join(s2_root, stamp, f'{b}.tif'), crs, tf, size,
                  Resampling.nearest, 'uint16') for b in S2_BANDS
        ])
        _write(osp.join(dst, 's2', f'{stamp[:8]}.tif'), bands, crs, tf, 0,
               S2_BANDS)
        valid = (bands > 0).all(0).mean()
        if best is None or valid > best[0]:
            best = (valid, stamp[:8], bands)
    s1_root = osp.join(src, 's1', location)
    if osp.isdir(s1_root):
        os.makedirs(osp.join(dst, 's1'), exist_ok=True)
        for product in sorted(os.listdir(s1_root)):
            date = product.split('_')[4][:8]
            bands = np.stack([
                _warp(osp.join(s1_root, product, f'{b}.tif'), crs, tf, size,
                      Resampling.bilinear, 'float32') for b in S1_BANDS
            ])
            _write(osp.join(dst, 's1', f'{date}.tif'), bands, crs, tf,
                   float('nan'), S1_BANDS)
    _, hr_date, bands = best
    rgb = np.clip(bands[[2, 1, 0]].transpose(1, 2, 0) / 3000.0 * 255, 0,
                  255).astype(np.uint8)
    hr = cv2.resize(rgb, (size * hr_scale, size * hr_scale),
                    interpolation=cv2.INTER_CUBIC)
    hr_tf = tf @ Affine.scale(1 / hr_scale)
    _write(osp.join(dst, 'hr.tif'), hr.transpose(2, 0, 1), crs, hr_tf, None,
           ('R', 'G', 'B'))
    cx, cy = rasterio.transform.xy(tf, size / 2, size / 2, offset='ul')
    lon, lat = (v[0] for v in warp_xy(crs, 'EPSG:4326', [cx], [cy]))
    meta = dict(
        sample_id=location, lat=lat, lon=lon,
        hr_date=f'{hr_date[:4]}-{hr_date[4:6]}-{hr_date[6:]}',
        crs=str(crs), hr_source='s2_rgb_upsampled',
        source=f'SSL4EO-S12 {s2_dir}+s1 location {location}')
    with open(osp.join(dst, 'metadata.json'), 'w') as f:
        json.dump(meta, f, indent=1)
    return location


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='SSL4EO-S12 root (holds s2a/ and s1/)')
    parser.add_argument('out', help='output root')
    parser.add_argument('--s2-dir', default='s2a', help='s2a = L2A')
    parser.add_argument('--size', type=int, default=8,
                        help='S2/S1 side in pixels of the centre crop')
    parser.add_argument('--hr-scale', type=int, default=DEFAULT_HR_SCALE)
    args = parser.parse_args(argv)
    locations = sorted(os.listdir(osp.join(args.src, args.s2_dir)))
    ids = [
        convert_location(args.src, args.out, loc, args.s2_dir, args.size,
                         args.hr_scale) for loc in locations
    ]
    os.makedirs(osp.join(args.out, 'splits'), exist_ok=True)
    with open(osp.join(args.out, 'splits', 'all.txt'), 'w') as f:
        f.write(''.join(f'{i}\n' for i in ids))
    print(f'converted {len(ids)} location(s) to {args.out}')


if __name__ == '__main__':
    main()
