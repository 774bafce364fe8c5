# The front door: `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
OUT := out

.PHONY: demo test lint bench samples clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[train,dev]'
	touch $(STAMP)

demo: $(STAMP)
	@mkdir -p $(OUT)
	$(BIN)/lstmprep inspect sample_data/sensors.json
	$(BIN)/lstmprep pad sample_data/sensors.json -o $(OUT)/sensors.npz --force
	$(BIN)/lstmprep train $(OUT)/sensors.npz --epochs 3

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check lstmprep tests benchmarks sample_data
	$(BIN)/ruff format --check lstmprep tests benchmarks sample_data
	$(BIN)/mypy lstmprep

bench: $(STAMP)
	$(PY) benchmarks/bench_pad.py
	$(PY) benchmarks/bench_json_pad.py

samples: $(STAMP)
	$(PY) sample_data/make_samples.py

clean:
	rm -rf $(VENV) $(OUT) build *.egg-info
