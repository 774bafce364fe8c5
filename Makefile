# The front door: `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
OUT := out

.PHONY: demo test lint bench bench-big samples clean

$(STAMP): pyproject.toml setup.py lstmprep/_padcore.c lstmprep/_fastjson.c lstmprep/_checked.h
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[train,dask,dev]'
	touch $(STAMP)

demo: $(STAMP)
	@mkdir -p $(OUT)
	$(BIN)/lstmprep inspect sample_data/sensors.json
	$(BIN)/lstmprep pad sample_data/sensors.json -o $(OUT)/sensors.npz --force
	$(BIN)/lstmprep train $(OUT)/sensors.npz --epochs 3

# Beside the whole suite, the padding, reader and fastjson tests again without the C modules,
# as on a machine without a compiler (LSTMPREP_NO_C=1), so that both paths stay correct. The
# two runs go side by side (two cores), the second one's output after the first's.
NO_C_TESTS := tests/test_padding.py tests/test_fastjson.py tests/test_without_c.py \
	tests/test_inspect.py tests/test_bad_inputs.py lstmprep/padding.py lstmprep/fastjson.py \
	lstmprep/readers
NO_C_LOG := $(VENV)/no-c-tests.log

test: $(STAMP)
	@LSTMPREP_NO_C=1 $(PY) -m pytest -q -p no:cacheprovider $(NO_C_TESTS) >$(NO_C_LOG) 2>&1 & \
	no_c=$$!; \
	$(PY) -m pytest -q; with_c=$$?; \
	wait $$no_c; without_c=$$?; \
	echo "--- the same tests without the C modules (LSTMPREP_NO_C=1):"; cat $(NO_C_LOG); \
	test $$with_c = 0 && test $$without_c = 0

lint: $(STAMP)
	$(BIN)/ruff check lstmprep tests benchmarks sample_data
	$(BIN)/ruff format --check lstmprep tests benchmarks sample_data
	$(BIN)/mypy lstmprep

bench: $(STAMP)
	$(PY) benchmarks/bench_pad.py
	$(PY) benchmarks/bench_json_pad.py
	$(PY) benchmarks/bench_json_pad.py --jsonl
	$(PY) benchmarks/bench_compressed.py
	$(PY) benchmarks/bench_window.py
	$(PY) benchmarks/bench_csv_pad.py

# Issue #12's targets: length buckets, and data larger than the memory budget (3 GB, cached in benchmarks/data).
bench-big: $(STAMP)
	$(PY) benchmarks/bench_buckets.py
	$(PY) benchmarks/bench_big.py
	$(PY) benchmarks/bench_dask.py
	$(PY) benchmarks/bench_train_big.py

samples: $(STAMP)
	$(PY) sample_data/make_samples.py

clean:
	rm -rf $(VENV) $(OUT) build *.egg-info

# --- Fuzzing the C modules under AddressSanitizer + UndefinedBehaviorSanitizer ---------------
# `make fuzz` installs clang (Debian, as root) and atheris if missing, builds _padcore and
# _fastjson with -fsanitize=address,undefined,fuzzer-no-link into build/fuzz, and runs each
# harness of fuzz/harnesses.py for FUZZ_SECONDS under atheris (libFuzzer), starting from
# fuzz/corpus/<harness>. New inputs, logs and crashers go to build/fuzz-runs/.
#   make fuzz FUZZ_SECONDS=900 FUZZ_HARNESSES="copy_rows pad"
FUZZ_SECONDS ?= 300
FUZZ_HARNESSES ?= copy_rows scan_json scan_jsonl read pad pad_lists
FUZZ_BUILD := build/fuzz
FUZZ_RUNS := build/fuzz-runs
# PYTHONMALLOC=malloc: without it pymalloc hides overflows of small Python buffers from ASan.
FUZZ_ENV = PYTHONPATH=$(FUZZ_BUILD) PYTHONMALLOC=malloc \
	LD_PRELOAD=$$($(PY) -c 'import atheris; print(atheris.path())')/asan_with_fuzzer.so \
	ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

.PHONY: fuzz fuzz-setup fuzz-corpus

fuzz-setup: $(STAMP)
	@command -v clang >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing clang (AddressSanitizer, UBSan and libFuzzer coverage need it)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang >/dev/null; \
	  else \
	    echo "make fuzz: skipped, clang is not installed (as root: apt-get install clang)"; \
	    exit 1; \
	  fi; }
	@$(PY) -c 'import atheris' 2>/dev/null || $(PY) -m pip install --quiet atheris
	$(PY) fuzz/build.py $(FUZZ_BUILD) --cc clang --coverage

fuzz: fuzz-setup
	@mkdir -p $(FUZZ_RUNS)
	@for h in $(FUZZ_HARNESSES); do \
	  mkdir -p $(FUZZ_RUNS)/$$h; \
	  echo "== fuzzing $$h for $(FUZZ_SECONDS) s: log in $(FUZZ_RUNS)/$$h.log"; \
	  $(FUZZ_ENV) $(PY) fuzz/run.py $$h -max_total_time=$(FUZZ_SECONDS) -timeout=30 \
	    -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix=$(FUZZ_RUNS)/$$h- \
	    $(FUZZ_RUNS)/$$h fuzz/corpus/$$h > $(FUZZ_RUNS)/$$h.log 2>&1; \
	  status=$$?; \
	  grep -E '^#[0-9]+[[:space:]]+DONE|^Done [0-9]+ runs|PYTHON FINDING' $(FUZZ_RUNS)/$$h.log; \
	  if [ $$status -ne 0 ]; then \
	    grep -A30 -E 'ERROR: (AddressSanitizer|libFuzzer|UndefinedBehaviorSanitizer)|runtime error|Uncaught Python' \
	      $(FUZZ_RUNS)/$$h.log | head -60; \
	    echo "make fuzz: $$h FOUND A CRASH: $$(ls $(FUZZ_RUNS)/$$h-* 2>/dev/null)"; exit 1; \
	  fi; \
	done

fuzz-corpus: $(STAMP)
	$(PY) fuzz/make_corpus.py
