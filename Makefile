# skysense_mm — two commands on a fresh machine:
#   make demo   # set up .venv (once), generate a demo world, pre-train, fine-tune, compare with random init
#   make test   # set up .venv (once), run the test suite
# The compiled mmcv wheel is cached in $(SKYSENSE_CACHE) (default ~/.cache/skysense_mm).

PYTHON_BOOT ?= python3
VENV        ?= .venv
PY          := $(VENV)/bin/python
SKYSENSE_CACHE ?= $(HOME)/.cache/skysense_mm
export SKYSENSE_CACHE
TORCH_PINS  := torch==2.14.1 torchvision==0.29.1
CONSTRAINTS := requirements/constraints.txt
PIP         := $(PY) -m pip install -q --progress-bar off -c $(CONSTRAINTS)
ENV_STAMP   := $(VENV)/.skysense_env
ENV_INPUTS  := $(CONSTRAINTS) requirements/runtime.txt requirements/mminstall.txt \
               requirements/tests.txt requirements/optional.txt setup.py tools/install/build_mmcv.sh
PYTEST_ARGS ?=

.PHONY: env test demo demo-seg clean-demo print-env

env: $(ENV_STAMP)

$(ENV_STAMP): $(ENV_INPUTS)
	@command -v $(PYTHON_BOOT) >/dev/null || { echo "make env: $(PYTHON_BOOT) not found; install Python >= 3.9"; exit 2; }
	@test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV) || { echo "make env: could not create $(VENV) (apt-get install python3-venv?)"; exit 2; }
	$(PIP) "setuptools>=77,<81" wheel ninja $(TORCH_PINS)
	@wheel=$$(PY=$(PY) tools/install/build_mmcv.sh | tail -n 1) && test -f "$$wheel" && \
	  echo "make env: mmcv wheel $$wheel" && \
	  $(PIP) "$$wheel" -e . -r requirements/tests.txt -r requirements/optional.txt
	$(PY) -c "import skysense_mm, mmcv.ops, mmdet, mmseg, mmrotate, mmpretrain; print('make env: stack ok, mmcv', mmcv.__version__)"
	@touch $@

test: env
	$(PY) -m pytest tests $(PYTEST_ARGS)

# The main job: generate a multi-modal demo world, pre-train a tiny SkySense on it, fine-tune a
# segmentation head from the teacher and from random init; last line pretrained=<mIoU> random_init=<mIoU>
demo: env
	$(PY) tools/demo/run_pretrain_demo.py --work-dir work_dirs/pretrain_demo

# The smaller supervised demo (tiny Swin-V2 + UperNet on synthetic RGB scenes)
demo-seg: env
	$(PY) tools/demo/run_demo.py --work-dir work_dirs/demo

clean-demo:
	rm -rf work_dirs/demo work_dirs/pretrain_demo data/demo

print-env: env
	$(PY) -c "import torch, mmengine, mmcv, mmdet, mmseg, mmrotate, mmpretrain, skysense_mm as s; \
	  [print(m.__name__, m.__version__) for m in (torch, mmengine, mmcv, mmdet, mmseg, mmrotate, mmpretrain, s)]"
