# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt | cksum | cut -d' ' -f1)

.PHONY: setup system-deps index index-if-missing trials-if-missing run chat search test verify eval bench clean

setup: $(STAMP)

$(STAMP): requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is needed (the torch CPU wheel is for 3.11); set PYTHON=python3.11")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip check
	rm -f $(VENV)/.installed-*
	touch $@

# Debian packages the tests use: chromium (browser tests, driven by Playwright; never `playwright install`)
# and redis-server (the Redis store). Installed with apt only when missing.
SYSTEM_DEPS := /usr/bin/chromium:chromium /usr/bin/redis-server:redis-server
system-deps:
	@missing="$$(for dep in $(SYSTEM_DEPS); do test -x "$${dep%%:*}" || echo "$${dep##*:}"; done)"; \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages: $$missing"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; \
		else echo "error: need root or sudo to install $$missing (apt-get install $$missing)"; exit 1; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

index: setup
	$(PY) -m index build

# Builds a missing index, and brings a stale one up to date (a no-op when nothing changed).
index-if-missing: setup
	@$(PY) -m index build

# The trial store starts with the sample of real ClinicalTrials.gov records in knowledge/registry/ (before the
# index build, which adds the curated trial records to it); `python -m knowledge sync-trials` brings a
# deployment's store up to date with the registry (docs/trial-store.md).
TRIAL_STORE := $(or $(RCA_TRIAL_STORE),var/trials.sqlite3)
trials-if-missing: setup
	@$(PY) -m knowledge import-trials --store "$(TRIAL_STORE)" --if-empty knowledge/registry

# Serves the demo page with the widget, the reference page and the API on http://127.0.0.1:5005
run: trials-if-missing index-if-missing
	$(PY) -m server

# The same assistant in the terminal.
chat: trials-if-missing index-if-missing
	$(PY) -m bot chat

search: index-if-missing
	$(PY) -m index search

verify: setup
	$(PY) -m index verify

eval: index-if-missing
	$(PY) -m index eval

bench: setup
	$(PY) bench/retrieval.py

test: setup system-deps
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) var

# The same bot under a real Rasa 3.6 server with Redis, end to end (docs/deploy.md): `make test-rasa`.
# Rasa 3.6 needs Python below 3.11, so it gets its own venv (.venv-rasa, about 2.7 GB) from the first
# working Python 3.10: PYTHON310, else python3.10 on PATH, else pyenv's. None found: it skips, saying so.
# The model is trained again only when bot/'s config, domain or training data change.
.PHONY: test-rasa rasa-e2e
RASA_VERSION := 3.6.21
RASA_VENV := .venv-rasa
RASA_STAMP := $(RASA_VENV)/.installed-rasa-$(RASA_VERSION)
PYTHON310 ?= $(shell for p in python3.10 $$HOME/.pyenv/versions/3.10*/bin/python /usr/bin/python3.10; do \
	"$$p" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null && { command -v "$$p"; break; }; done)
# Telemetry stays off: HOME inside the venv, where `rasa telemetry disable` was run, and the variable too.
RASA_ENV := HOME=$(CURDIR)/$(RASA_VENV)/home RASA_TELEMETRY_ENABLED=false RASA_CACHE_DIRECTORY=$(CURDIR)/var/rasa/cache \
	TF_CPP_MIN_LOG_LEVEL=2 SQLALCHEMY_SILENCE_UBER_WARNING=1 TQDM_DISABLE=1 PYTHONWARNINGS=ignore
# Named by a checksum of what training reads, and the Rasa version (no dots: Rasa would cut at one).
RASA_MODEL := var/rasa/models/bot-$(shell { cat bot/config.yml bot/domain.yml bot/data/*.yml; echo $(RASA_VERSION); } | cksum | cut -d' ' -f1).tar.gz

test-rasa: setup system-deps
	@if [ -z "$(PYTHON310)" ]; then \
		echo "make test-rasa: skipped: no Python 3.10 found, and Rasa 3.6 needs Python below 3.11."; \
		echo "  Install one (e.g. pyenv install 3.10) or name it: make test-rasa PYTHON310=/path/to/python3.10"; \
	else $(MAKE) --no-print-directory rasa-e2e PYTHON310="$(PYTHON310)"; fi

rasa-e2e: $(RASA_MODEL)
	RCA_RASA_MODEL=$(RASA_MODEL) $(PY) -m pytest -q tests/rasa

$(RASA_STAMP):
	test -x $(RASA_VENV)/bin/python || $(PYTHON310) -m venv $(RASA_VENV)
	@echo "Installing rasa==$(RASA_VERSION) into $(RASA_VENV) (about 2 minutes and 2.7 GB the first time)"
	$(RASA_VENV)/bin/python -m pip install --quiet --disable-pip-version-check rasa==$(RASA_VERSION)
	mkdir -p $(RASA_VENV)/home
	$(RASA_ENV) $(RASA_VENV)/bin/rasa telemetry disable >/dev/null
	rm -f $(RASA_VENV)/.installed-rasa-*
	touch $@

$(RASA_MODEL): $(RASA_STAMP)
	@mkdir -p var/rasa/models
	@echo "Training the Rasa model on bot/ (about 1-2 minutes; log: var/rasa/train.log)"
	@start=$$(date +%s); \
	$(RASA_ENV) $(RASA_VENV)/bin/rasa train --domain bot/domain.yml --data bot/data --config bot/config.yml \
		--out var/rasa/models --fixed-model-name $(notdir $(basename $(basename $@))) >var/rasa/train.log 2>&1 \
		|| { tail -40 var/rasa/train.log; exit 1; }; \
	echo "Trained $@ in $$(( $$(date +%s) - start )) s"
	@find var/rasa/models -name '*.tar.gz' ! -name '$(notdir $@)' -delete
