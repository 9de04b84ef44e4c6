# The two set-up commands: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
TRANSLATIONS := appliance/web/translations
PO := $(wildcard $(TRANSLATIONS)/*/LC_MESSAGES/messages.po)
MO := $(PO:.po=.mo)

.PHONY: demo test install translations messages system-deps bench clean release \
	image-deps image-amd64 image-arm64 image-test-amd64 image-test-arm64

demo: install
	$(BIN)/epn demo --data demo-data --hub-data demo-hub --host 127.0.0.1 --port 8080 --hub-port 8090

test: install system-deps
	$(BIN)/python -m pytest

install: $(STAMP) $(MO)

$(BIN)/python:
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  echo "python3-venv is missing: installing it"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv && \
	  rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --disable-pip-version-check -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

# Compiled catalogues are build products (not in git): made at install.
$(TRANSLATIONS)/%/LC_MESSAGES/messages.mo: $(TRANSLATIONS)/%/LC_MESSAGES/messages.po | $(STAMP)
	$(BIN)/pybabel -q compile -i $< -o $@

# For developers: extract the messages and merge them into each language's catalogue.
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k _l -k lazy_gettext --no-location --sort-output -o $(TRANSLATIONS)/messages.pot appliance
	$(BIN)/pybabel -q update --no-fuzzy-matching -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS)

# Chromium for the browser tests (Debian package), when we are root on Debian.
system-deps:
	@sh scripts/system-deps.sh

# Images (issue 9, on demand, as root on Debian 12): see README "Installing".
IMAGE_PACKAGES := debootstrap systemd-container ansible-core qemu-user-static binfmt-support \
	qemu-system-x86 qemu-system-arm ovmf grub-efi-amd64-bin mtools dosfstools fdisk e2fsprogs curl

image-deps:
	@sh scripts/system-deps.sh $(IMAGE_PACKAGES)

image-amd64 image-arm64: image-%: install image-deps
	images/build.sh $*

image-test-amd64 image-test-arm64: image-test-%: install image-deps
	images/test-$*.sh

# A signed release for `epn update`: make release ARCH=aarch64 KEY=~/epn-release.key
ARCH ?= $(shell uname -m)
release: install
	@test -n "$(KEY)" || { echo "KEY=path/to/release.key is required (scripts/release.py keygen)"; exit 2; }
	$(BIN)/python scripts/release.py build --arch $(ARCH) --out dist
	$(BIN)/python scripts/release.py sign --key $(KEY) dist

bench: install
	$(BIN)/python bench/memory_latency.py

clean:
	rm -rf $(VENV) demo-data demo-hub $(MO)
