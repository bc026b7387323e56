"""Install skysense_mm: ``pip install -e . -c requirements/constraints.txt``.

torch, torchvision and mmcv (with compiled ops) are installed by ``make env``
before this package; see docs/install.md.
"""
import os.path as osp

from setuptools import find_packages, setup


def read_requirements(fname):
    """Requirement lines of ``requirements/<fname>``, comments dropped."""
    path = osp.join(osp.dirname(__file__), 'requirements', fname)
    with open(path) as f:
        lines = [ln.split('#')[0].strip() for ln in f]
    return [ln for ln in lines if ln and not ln.startswith('-')]


def get_version():
    scope = {}
    with open(osp.join('skysense_mm', 'version.py')) as f:
        exec(compile(f.read(), 'version.py', 'exec'), scope)
    return scope['__version__']


if __name__ == '__main__':
    setup(
        name='skysense_mm',
        version=get_version(),
        description='SkySense multi-modal remote-sensing foundation model '
        'for the OpenMMLab 2.x stack',
        long_description=open('README.md').read(),
        long_description_content_type='text/markdown',
        packages=find_packages(exclude=('configs', 'tools', 'tests', 'docs')),
        include_package_data=True,
        python_requires='>=3.9',
        license='Apache License 2.0',
        install_requires=read_requirements('runtime.txt') +
        read_requirements('mminstall.txt'),
        extras_require=dict(
            tests=read_requirements('tests.txt'),
            optional=read_requirements('optional.txt')),
        zip_safe=False)
