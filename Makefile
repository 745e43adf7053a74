# Set-up is idempotent: the venv is (re)installed only when pyproject.toml changes.
VENV    ?= .venv
PYTHON  ?= python3
BIN     := $(CURDIR)/$(VENV)/bin
STAMP   := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
SMOKE   := -S 'studies.tables.table1.datasets=[cmnist]' -S 'studies.seeds=[0]' -S datasets.cmnist.epochs=2 \
           -S datasets.cmnist.steps_per_epoch=10 -S 'studies.rows.gerne_tuned_known.search.c=[0.5]' \
           -S 'studies.rows.gerne_tuned_known.search.beta=[1.0]' -S 'studies.rows.gerne_tuned_unknown.search.t=[1.0]' \
           -S 'studies.rows.gerne_tuned_unknown.search.beta=[2.5]' \
           -S 'studies.tables.table1.rows=[erm,resample,gerne_known,gerne_tuned_known,gerne_unknown,gerne_tuned_unknown]' \
           -S '~studies.tables.attribution' -S '~studies.tables.attribution_ratios' report figures

.PHONY: setup repro smoke test bench bench-methods ui browser

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[pipeline,examples,dev,ray]'
	rm -f $(VENV)/.installed-* && touch $@

## Main job: the whole pipeline with the committed params.yaml, tracked in ./mlflow.db.
## params.yaml is validated first (did-you-mean hints), and the MLflow store is created once before any stage runs,
## with the committed run summaries (runs/) imported into it, so `make ui` shows every committed run on a fresh clone.
repro: $(STAMP)
	$(BIN)/gerne validate
	$(BIN)/gerne store-init
	PATH=$(BIN):$$PATH dvc repro

## Smoke run: one ratio, one seed, 2 epochs, as a DVC experiment in a temp copy (plain `dvc exp run --temp`):
## the workspace, params.yaml and every committed result stay as they are; `dvc exp show` lists it, MLflow files
## its runs under "<dataset> (trials)"
smoke: $(STAMP)
	$(BIN)/gerne store-init --no-import
	PATH=$(BIN):$$PATH dvc exp run --temp -n smoke-$$(date +%Y%m%d-%H%M%S) $(SMOKE)

## Tests: lint + unit + integration (real DVC pipeline and MLflow store in temp dirs)
test: $(STAMP) browser
	$(BIN)/ruff check .
	PATH=$(BIN):$$PATH $(BIN)/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder

## Training-speed benchmark on C-MNIST 0.5 % (needs `make repro` or `dvc repro data` first)
bench: $(STAMP)
	PATH=$(BIN):$$PATH python -m benchmarks.run --methods metrics/benchmarks_methods.json

## Every method of Table 1 beside the floor of its own matrix products, a section of reports/benchmarks.md (needs `make repro` first)
bench-methods: $(STAMP)
	PATH=$(BIN):$$PATH python -m benchmarks.methods
	PATH=$(BIN):$$PATH python -m benchmarks.run --from-json metrics/benchmarks.json --price --methods metrics/benchmarks_methods.json

ui: $(STAMP)
	$(BIN)/gerne ui

## Headless Chromium (Debian's package) for the MLflow UI end-to-end test; installed once, as root or with sudo
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null'
