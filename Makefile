# Set-up and checks. Every target installs what it needs on a fresh Debian machine (as root).
VENV ?= .venv
PY := $(VENV)/bin/python
APT_PACKAGES := openssh-server openssh-client sudo python3-venv python3-dev gcc libxml2-dev postgresql-15 apache2 genisoimage curl systemd chromium
.PHONY: deps venv test unit lint demo clean

deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  for s in apache2 postgresql; do service $$s stop >/dev/null 2>&1 || true; done; fi

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[lab,dev]'
	touch $@

venv: deps $(VENV)/.installed

lint: venv
	$(VENV)/bin/ruff check opsrunner opsrunner_plugins opsrunner_lab profiles tests benchmarks
	$(VENV)/bin/mypy
	$(VENV)/bin/pylint --disable=all --enable=cyclic-import --score=n opsrunner opsrunner_plugins opsrunner_lab

unit: venv
	$(VENV)/bin/pytest -m "not lab" -q

test: venv lint
	$(VENV)/bin/pytest -q

# The main job on the embedded default: bring the lab up (idempotent), vacuum, back up the
# engine, change its database, restore the backup with every check green (examples/main_job.sh).
# The lab stays up for you to explore: `.venv/bin/opsrunner lab status`, `... lab down`.
demo: venv
	sh examples/main_job.sh

clean:
	rm -rf $(VENV) .opsrunner
