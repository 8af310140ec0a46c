# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt | cksum | cut -d' ' -f1)

.PHONY: setup index index-if-missing run search test verify eval bench clean

setup: $(STAMP)

$(STAMP): requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is needed (the torch CPU wheel is for 3.11); set PYTHON=python3.11")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip check
	rm -f $(VENV)/.installed-*
	touch $@

index: setup
	$(PY) -m index build

# Builds a missing index, and brings a stale one up to date (a no-op when nothing changed).
index-if-missing: setup
	@$(PY) -m index build

# Until the web server lands, `make run` serves the embedded assistant in the terminal.
run: index-if-missing
	$(PY) -m bot chat

search: index-if-missing
	$(PY) -m index search

verify: setup
	$(PY) -m index verify

eval: index-if-missing
	$(PY) -m index eval

bench: setup
	$(PY) bench/retrieval.py

test: setup
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) var
