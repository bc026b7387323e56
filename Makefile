# skysense_mm — two commands on a fresh machine:
#   make demo   # set up .venv (once), generate demo data, train + test a tiny model end to end
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

.PHONY: env test demo clean-demo print-env

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

demo: env
	$(PY) tools/demo/run_demo.py --work-dir work_dirs/demo

clean-demo:
	rm -rf work_dirs/demo data/demo

print-env: env
	$(PY) -c "import torch, mmengine, mmcv, mmdet, mmseg, mmrotate, mmpretrain, skysense_mm as s; \
	  [print(m.__name__, m.__version__) for m in (torch, mmengine, mmcv, mmdet, mmseg, mmrotate, mmpretrain, s)]"
