# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt | cksum | cut -d' ' -f1)

.PHONY: setup system-deps index index-if-missing run chat search test verify eval bench clean

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

# Serves the demo page with the widget, the reference page and the API on http://127.0.0.1:5005
run: index-if-missing
	$(PY) -m server

# The same assistant in the terminal.
chat: index-if-missing
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
