# The two commands a fresh clone needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
OUT := out/demo

.PHONY: demo test install clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# Pinned first: an unpinned torch would pull a multi-GB CUDA build.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	mkdir -p $(OUT)
	cp samples/sample.jpg $(OUT)/sample.jpg
	$(VENV)/bin/rawmeta embed samples/sample.dng $(OUT)/sample.jpg
	$(VENV)/bin/rawmeta inspect $(OUT)/sample.jpg
	@echo "JPEG with embedded RAW samples: $(OUT)/sample.jpg (source pair: samples/sample.dng, samples/sample.jpg)"

test: $(STAMP)
	$(PY) -m pytest

clean:
	rm -rf $(VENV) out .pytest_cache
