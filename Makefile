# campusca: `make run` sets everything up and starts the service; `make test` runs the whole suite.
# Both create .venv and install what is missing (Debian packages too when run as root).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOME_DIR ?= $(or $(CAMPUSCA_HOME),campusca-data)
PORT ?= 8000
DEBIAN_PACKAGES := openssl time gnupg gpgsm dirmngr scep certmonger dbus-daemon softhsm2 slapd ldap-utils libnss3-tools postgresql hey wrk chromium
STAMP := $(VENV)/.installed

.PHONY: run test lint bench fuzz deps venv clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,postgres,hsm]'
	touch $(STAMP)

venv: $(STAMP)

deps:
	@if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	  missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	  if [ -n "$$missing" ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  fi; \
	else echo "not root: skipping Debian packages ($(DEBIAN_PACKAGES))"; fi

run: venv
	@if [ ! -f "$(HOME_DIR)/campusca.db" ]; then $(BIN)/campusca --home "$(HOME_DIR)" init --demo; fi
	@echo "campusca: http://127.0.0.1:$(PORT)/  (API docs: http://127.0.0.1:$(PORT)/api/v1/docs)"
	@echo "demo logins (password campusca-demo): admin, alice, bob, mary, rita, larry"
	CAMPUSCA_PUBLIC_URL=$${CAMPUSCA_PUBLIC_URL:-http://127.0.0.1:$(PORT)} $(BIN)/campusca --home "$(HOME_DIR)" serve --port $(PORT)

test: deps venv
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports
	$(BIN)/pytest -p no:cacheprovider

# The long fuzz run: CAMPUSCA_FUZZ_EXAMPLES inputs per target weight (10 weights in all: >= 100,000
# inputs by default) against a real `campusca serve`; prints inputs tried and 5xx answers per target.
FUZZ_EXAMPLES ?= $(or $(CAMPUSCA_FUZZ_EXAMPLES),10500)
fuzz: venv
	CAMPUSCA_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -p no:cacheprovider -q -m fuzz tests/fuzz

# nginx only for the benches: bench/ocsp.py's native ceiling (target-specific, so deps installs it too).
bench: DEBIAN_PACKAGES += nginx-light
bench: deps venv
	$(BIN)/python bench/ocsp.py
	$(BIN)/python bench/crl.py
	$(BIN)/python bench/rss.py
	$(BIN)/python bench/issuance.py
	$(BIN)/python bench/issuance.py --postgres
	$(BIN)/python bench/burst.py --burst 500
	$(BIN)/python bench/burst.py --postgres
	$(BIN)/python bench/scep.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
