"""tools/dataset_converters/make_cls_split.py: seeded stratified AID /
NWPU-RESISC45 split files (SkySense, https://arxiv.org/abs/2312.10115,
Tab. 3 train ratios and Fig. 4a label ratios). Synthetic trees written here
follow the official folder-per-class layout (``<Class>/<class>_<n>.jpg``);
the real samples of ../shared/data are split too."""
import filecmp
import importlib.util
import os
import os.path as osp

import pytest
from PIL import Image

from conftest import TOOLS
from skysense_mm.datasets.scene_cls import AID_CLASSES, RESISC45_CLASSES


def load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tool = load_module('skysense_make_cls_split',
                   osp.join(TOOLS, 'dataset_converters', 'make_cls_split.py'))

AID_SAMPLE = 'AID/zlima__testtensor/AID'
RESISC_SAMPLE = ('NWPU-RESISC45/tensorflow__datasets/tensorflow_datasets/'
                 'testing/test_data/fake_examples/resisc45/NWPU-RESISC45')


def n_images(i):
    """Images of the i-th AID class in the synthetic tree: 3..10, except
    class 0 (1 image) and class 1 (2 images)."""
    return {0: 1, 1: 2}.get(i, 3 + i % 8)


def write_tree(root, classes=AID_CLASSES, counts=n_images):
    img = Image.new('RGB', (8, 8), (10, 20, 30))
    for i, cls in enumerate(classes):
        os.makedirs(osp.join(root, cls))
        for k in range(1, counts(i) + 1):
            img.save(osp.join(root, cls, f'{cls.lower()}_{k}.jpg'))
    return root


def read(path):
    with open(path) as f:
        return [ln.split() for ln in f.read().splitlines()]


@pytest.fixture(scope='module')
def tree(tmp_path_factory):
    return write_tree(str(tmp_path_factory.mktemp('aid') / 'AID'))


def test_rounding_rules():
    assert tool.round_half_up(0.1, 15) == 2  # 1.5 -> 2 (not banker's 2)
    assert tool.round_half_up(0.5, 5) == 3  # 2.5 -> 3 (banker's: 2)
    assert tool.round_half_up(0.2, 290) == 58  # exact, no float drift
    assert tool.round_half_up(0.1, 700) == 70
    assert tool.round_half_up(0.01, 149) == 1  # 1.49
    assert tool.ratio_name(0.01) == '1' and tool.ratio_name(0.005) == '0.5'
    assert tool.ratio_name(1.0) == '100'


def test_stratified_counts_and_format(tree, tmp_path):
    out = str(tmp_path / 'tr50')
    info = tool.make_split(tree, 'aid', 0.5, 0, out)
    assert [ln[0] for ln in read(osp.join(out, 'classes.txt'))] == list(
        AID_CLASSES) == sorted(os.listdir(tree))
    train = read(osp.join(out, 'train.txt'))
    test = read(osp.join(out, 'test.txt'))
    for i, cls in enumerate(AID_CLASSES):
        n = n_images(i)
        # hand-computed: 1 -> 1/0, 2 -> 1/1, 3 -> 2/1 (1.5 up), 5 -> 3/2
        expected = {1: 1, 2: 1, 3: 2, 4: 2, 5: 3, 6: 3, 7: 4, 8: 4, 9: 5,
                    10: 5}[n]
        tr = [p for p, lab in train if int(lab) == i]
        te = [p for p, lab in test if int(lab) == i]
        assert len(tr) == expected and len(te) == n - expected, cls
        assert all(p.startswith(cls + '/') for p in tr + te)
        assert sorted(tr + te) == sorted(
            f'{cls}/{f}' for f in os.listdir(osp.join(tree, cls)))
        assert info['classes'][cls] == dict(total=n, train=expected,
                                            test=n - expected)
    assert info['num_train'] == len(train) and info['num_test'] == len(test)
    # label order then natural file order
    labels = [int(lab) for _, lab in train]
    assert labels == sorted(labels)
    cls9 = [p for p, lab in train if lab == '9']
    assert cls9 == sorted(cls9, key=tool.natural_key)


def test_small_ratio_keeps_one_train_and_one_test(tree, tmp_path):
    out = str(tmp_path / 'tr1')
    info = tool.make_split(tree, 'aid', 0.01, 0, out)
    for i, cls in enumerate(AID_CLASSES):
        assert info['classes'][cls]['train'] == 1
    info = tool.make_split(tree, 'aid', 0.99, 0, str(tmp_path / 'tr99'))
    assert info['classes']['BareLand'] == dict(total=2, train=1, test=1)
    assert info['classes']['Viaduct'] == dict(total=8, train=7, test=1)


def test_label_ratio_subsets_are_nested(tree, tmp_path):
    out = str(tmp_path / 'lr')
    ratios = [0.01, 0.2, 0.5, 1.0]
    info = tool.make_split(tree, 'aid', 0.8, 3, out, label_ratios=ratios)
    train = {tuple(x) for x in read(osp.join(out, 'train.txt'))}
    subsets = [{tuple(x) for x in read(osp.join(out, f'train_{p}pct.txt'))}
               for p in ('1', '20', '50', '100')]
    assert subsets[0] <= subsets[1] <= subsets[2] <= subsets[3] == train
    for i, cls in enumerate(AID_CLASSES):
        n_train = info['classes'][cls]['train']
        for q, sub, p in zip(ratios, subsets, ('1', '20', '50', '100')):
            m = len([x for x in sub if int(x[1]) == i])
            assert m == max(1, tool.round_half_up(q, n_train)), (cls, q)
            assert info['classes'][cls][f'train_{p}pct'] == m
    # Viaduct: 8 images -> 6 train (6.4) -> 20%: 1 (1.2), 50%: 3
    assert info['classes']['Viaduct']['train_50pct'] == 3


def test_same_seed_same_files_other_seed_other_split(tree, tmp_path):
    a, b, c = (str(tmp_path / x) for x in 'abc')
    tool.make_split(tree, 'aid', 0.5, 7, a, label_ratios=[0.1, 0.5])
    tool.make_split(tree, 'aid', 0.5, 7, b, label_ratios=[0.1, 0.5])
    names = sorted(os.listdir(a))
    assert names == ['classes.txt', 'split_info.json', 'test.txt',
                     'train.txt', 'train_10pct.txt', 'train_50pct.txt']
    match, mismatch, errors = filecmp.cmpfiles(a, b, names, shallow=False)
    assert match == names and not mismatch and not errors
    tool.make_split(tree, 'aid', 0.5, 8, c)
    assert not filecmp.cmp(osp.join(a, 'train.txt'),
                           osp.join(c, 'train.txt'), shallow=False)
    # the counts are the same for any seed
    assert len(read(osp.join(a, 'train.txt'))) == len(
        read(osp.join(c, 'train.txt')))


def test_cli_on_real_samples(shared_data, tmp_path, capsys):
    out = str(tmp_path / 'aid')
    assert tool.main([osp.join(shared_data, AID_SAMPLE), '--dataset', 'aid',
                      '--train-ratio', '0.2', '--seed', '0', '--out', out,
                      '--label-ratio', '0.01', '1.0']) == 0
    train = read(osp.join(out, 'train.txt'))
    # 30 classes x 1 image: each image is the class's single train image
    assert [int(lab) for _, lab in train] == list(range(30))
    assert train[1] == ['BareLand/bareland_1.jpg', '1']
    assert read(osp.join(out, 'test.txt')) == []
    assert read(osp.join(out, 'train_1pct.txt')) == train
    assert '30 train / 0 test images over 30 classes' in capsys.readouterr(
    ).out
    out = str(tmp_path / 'resisc')
    root = osp.join(shared_data, RESISC_SAMPLE)
    argv = [root, '--dataset', 'resisc45', '--train-ratio', '0.1', '--out',
            out]
    assert tool.main(argv) == 1  # 43 of the 45 class folders are missing
    assert 'no folder for the official classes' in capsys.readouterr().err
    assert tool.main(argv + ['--allow-missing-classes']) == 0
    assert read(osp.join(out, 'train.txt')) == [
        ['desert/desert_570.jpg', '12'],
        ['intersection/intersection_172.jpg', '19']]
    assert [ln[0] for ln in read(osp.join(out, 'classes.txt'))] == list(
        RESISC45_CLASSES)


def test_unknown_class_folder(tmp_path):
    root = write_tree(str(tmp_path / 'AID'))
    os.makedirs(osp.join(root, 'Harbour'))
    with pytest.raises(ValueError, match=r"AID/Harbour: folder 'Harbour' is "
                       'not one of the 30 official classes'):
        tool.make_split(root, 'aid', 0.2, 0, str(tmp_path / 'o'))


def test_unreadable_image(tmp_path, capsys):
    root = write_tree(str(tmp_path / 'AID'))
    bad = osp.join(root, 'Pond', 'pond_2.jpg')
    with open(bad, 'wb') as f:
        f.write(b'not a jpeg')
    with pytest.raises(ValueError, match='Pond/pond_2.jpg: unreadable image'):
        tool.make_split(root, 'aid', 0.2, 0, str(tmp_path / 'o'))
    assert tool.main([root, '--dataset', 'aid', '--train-ratio', '0.2',
                      '--out', str(tmp_path / 'o')]) == 1
    assert 'pond_2.jpg: unreadable image' in capsys.readouterr().err
    assert not osp.exists(osp.join(tmp_path, 'o', 'train.txt'))


def test_empty_class_and_non_image(tmp_path):
    root = write_tree(str(tmp_path / 'AID'),
                      counts=lambda i: 0 if i == 4 else 2)
    with pytest.raises(ValueError,
                       match="AID/Bridge: class folder 'Bridge' has no"):
        tool.make_split(root, 'aid', 0.2, 0, str(tmp_path / 'o'))
    root = write_tree(str(tmp_path / 'AID2'), counts=lambda i: 2)
    with open(osp.join(root, 'Beach', 'notes.txt'), 'w') as f:
        f.write('x')
    with pytest.raises(ValueError, match='Beach/notes.txt: not an image'):
        tool.make_split(root, 'aid', 0.2, 0, str(tmp_path / 'o'))


def test_bad_arguments(tree, tmp_path):
    with pytest.raises(ValueError, match='train_ratio must be in'):
        tool.make_split(tree, 'aid', 1.0, 0, str(tmp_path / 'o'))
    with pytest.raises(ValueError, match='label ratios must be in'):
        tool.make_split(tree, 'aid', 0.5, 0, str(tmp_path / 'o'), [0.0])
    with pytest.raises(ValueError, match='dataset must be one of'):
        tool.make_split(tree, 'ucm', 0.5, 0, str(tmp_path / 'o'))
