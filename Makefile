# The two commands a fresh clone needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# PyTorch's own package index for its CPU build; empty: pip's configured index.
TORCH_INDEX ?=
STAMP := $(VENV)/.installed
OUT := out/demo

.PHONY: demo test test-slow install clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# Pinned first, so that installing rawmeta keeps it. TORCH_INDEX=https://download.pytorch.org/whl/cpu
	# takes PyTorch's CPU build where pip's default index would give the multi-GB CUDA one (README).
	$(PY) -m pip install --quiet torch==2.13.0 $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	mkdir -p $(OUT)
	cp samples/sample.jpg $(OUT)/sample.jpg
	$(VENV)/bin/rawmeta embed samples/sample.dng $(OUT)/sample.jpg
	$(VENV)/bin/rawmeta inspect $(OUT)/sample.jpg
	# The default fast preset restores the sample in a few seconds; `--method rbf` (the SAM baseline)
	# takes about a minute, `--preset paper` about 2 CPU-minutes per patch (12 patches here).
	$(VENV)/bin/rawmeta restore $(OUT)/sample.jpg $(OUT)/restored.dng --overwrite \
		--reference samples/sample.dng --error-map $(OUT)/error-map.png
	@echo
	@echo "Outputs in $(OUT)/:"
	@echo "  sample.jpg     the JPEG carrying RAW samples (source pair: samples/sample.dng, samples/sample.jpg)"
	@echo "  restored.dng   the RAW restored from it (the camera's Bayer mosaic as a DNG; open it in darktable or RawTherapee)"
	@echo "  error-map.png  per-pixel error of the restore against samples/sample.dng"

test: $(STAMP)
	$(PY) -m ruff check rawmeta cli tests
	$(PY) -m pytest -m "not slow"

test-slow: $(STAMP)
	$(PY) -m pytest -m slow

clean:
	rm -rf $(VENV) out .pytest_cache
