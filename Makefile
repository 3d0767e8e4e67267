# The project's commands. `make test` and `make demo` set everything up on a fresh machine
# (Python 3.11, git, make): a .venv with the pinned tools of pyproject.toml, and the board stubs.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
PYTHON  := $(BIN)/python
STAMP   := $(VENV)/.installed
STUBS   := .stubs
OUT     ?= out/demo
SCENARIO ?= scenarios/demo.json

.PHONY: setup test lint fmt typecheck compile pytest vmtest bench demo deploy events fuzz pico clean

PICO_JS := tools/pico/node_modules/.installed

setup: $(STAMP) $(STUBS)/rp2/.installed $(STUBS)/esp32/.installed $(PICO_JS)

# The emulated Pico's rp2040js, pinned by tools/pico/package-lock.json (npm ci). Without npm the
# emulated-Pico runs say what is missing and are skipped; nothing else needs it.
$(PICO_JS): tools/pico/package-lock.json
	@if command -v npm >/dev/null; then \
	  echo "setup: installing rp2040js (pinned) into tools/pico/node_modules"; \
	  npm ci --prefix tools/pico --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "setup: no npm: the emulated Pico (make pico) will be skipped"; fi

# Reinstalled only when pyproject.toml changes: a warm `make setup` does nothing.
$(STAMP): pyproject.toml
	@test -x $(PYTHON) || $(PY) -m venv $(VENV)
	@$(PYTHON) -m pip install -q --disable-pip-version-check --upgrade pip
	@$(PYTHON) -c "import tomllib; d = tomllib.load(open('pyproject.toml', 'rb')); \
	  print('\n'.join(d['project']['optional-dependencies']['dev']))" > $(VENV)/requirements.txt
	@echo "setup: installing pinned dev tools into $(VENV)"
	@$(PYTHON) -m pip install -q --disable-pip-version-check -r $(VENV)/requirements.txt
	@touch $@

# One folder per board: both stub packages install machine.pyi at the top level.
$(STUBS)/%/.installed: pyproject.toml $(STAMP)
	@rm -rf $(STUBS)/$*
	@echo "setup: installing $* stubs into $(STUBS)/$*"
	@$(PYTHON) -c "import tomllib; d = tomllib.load(open('pyproject.toml', 'rb')); \
	  print('\n'.join(d['project']['optional-dependencies']['stubs-$*']))" > $(VENV)/stubs-$*.txt
	@$(PYTHON) -m pip install -q --disable-pip-version-check --no-deps --target $(STUBS)/$* \
	  -r $(VENV)/stubs-$*.txt
	@touch $@

# Every step fails fast and says which guard stopped the run.
test: setup
	@$(MAKE) --no-print-directory lint || { echo "make test: FAILED at lint (ruff)"; exit 1; }
	@$(MAKE) --no-print-directory typecheck || { echo "make test: FAILED at typecheck (pyright)"; exit 1; }
	@$(MAKE) --no-print-directory compile || { echo "make test: FAILED at compile (mpy-cross)"; exit 1; }
	@$(MAKE) --no-print-directory pytest || { echo "make test: FAILED at pytest (CPython)"; exit 1; }
	@$(MAKE) --no-print-directory vmtest || { echo "make test: FAILED at vmtest (MicroPython VM)"; exit 1; }
	@echo "make test: all steps passed"

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: setup
	$(BIN)/pyright --pythonpath $(PYTHON)
	@if [ -f firmware/hw/board_esp32.py ]; then $(BIN)/pyright -p pyright-esp32.json; fi
	$(BIN)/pyright -p pyright-host.json --pythonpath $(PYTHON)

compile: setup
	$(PYTHON) -m tools.mpycheck

pytest: setup
	$(PYTHON) -m pytest

vmtest: setup
	$(PYTHON) -m tools.mptest --heapsize 256k

bench: setup
	$(PYTHON) -m tools.bench

# The firmware on the emulated Pico (../shared/rp2emu): every scenario, a bench tester's report.
pico: setup
	$(PYTHON) -m tools.pico

demo: setup
	$(PYTHON) -m tools.sim run $(SCENARIO) --out $(OUT)

deploy: setup
	@if [ -z "$(PORT)" ]; then echo "usage: make deploy PORT=/dev/ttyACM0"; exit 2; fi
	$(PYTHON) -m tools.deploy --port $(PORT)

# Copy /events.log (and its rotated .1) off the board with mpremote and print it (tools/events.py).
events: setup
	@if [ -z "$(PORT)" ]; then echo "usage: make events PORT=/dev/ttyACM0"; exit 2; fi
	$(PYTHON) -m tools.events --fetch $(PORT)

fuzz: setup
	$(PYTHON) -m tools.fuzz

clean:
	rm -rf $(VENV) $(STUBS) out .pytest_cache .ruff_cache
