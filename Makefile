# tmscreen — every target installs what it needs (a fresh clone needs only Python 3.11 and pip).
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEMO   ?= .tmscreen/demo
DEMO_N ?= 20000
export MLFLOW_DISABLE_TELEMETRY := true

.PHONY: setup demo test lint notebooks bench quality mlflow-ui clean

setup: $(STAMP)

# uv installs the locked set in seconds; pip alone takes minutes (docs/ENVIRONMENT notes).
$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or run 'make PYTHON=/path/to/python3.11'"; exit 2; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check uv
	$(PY) -m uv pip sync --python $(PY) -q requirements.lock
	$(PY) -m uv pip install --python $(PY) -q --no-deps -e .
	touch $(STAMP)

lock:
	$(PY) -m uv pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements.lock

demo: setup
	$(VENV)/bin/tmscreen demo-data $(DEMO) --n-applications $(DEMO_N) --seed 7
	$(VENV)/bin/tmscreen score $(DEMO)/dataset --out $(DEMO)/run --top 15
	$(VENV)/bin/tmscreen evaluate $(DEMO)/run --truth $(DEMO)/truth

test: setup
	$(PY) -m pytest

# The four notebooks on a small demo world (also part of `make test`).
notebooks: setup
	$(PY) -m pytest tests/test_notebooks.py

lint: setup
	$(PY) -m ruff check core pipeline features models review tests evaluation demo bench

bench: setup
	$(PY) -m bench

# The built-in scorer on the demo worlds and the independent labelled worlds: docs/quality.md.
quality: setup
	$(PY) -m evaluation.quality

mlflow-ui: setup
	$(VENV)/bin/mlflow ui --host 127.0.0.1 --port 5000 \
	  --backend-store-uri sqlite:///$(abspath .tmscreen)/mlflow.db --default-artifact-root $(abspath .tmscreen)/mlartifacts

clean:
	rm -rf .tmscreen .pytest_cache
