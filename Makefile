# nftknock: `sudo make demo` and `sudo make test` do everything on a fresh Debian 12 machine.
SHELL := /bin/bash
NODE  ?= node
TSC   := node_modules/.bin/tsc
PREFIX ?= /usr/local
LIBDIR := $(PREFIX)/lib/nftknock

UNIT_TESTS = $(shell find dist/test/unit -name '*.test.js' 2>/dev/null | sort)
INTEGRATION_TESTS = $(shell find dist/test/integration -name '*.test.js' 2>/dev/null | sort)

.PHONY: all deps system-deps build test unit integration lint demo bench fuzz clean install uninstall

all: build

# System packages the program and the tests need (Debian names). Installed only when missing.
SYSTEM_PKGS := nftables libpcap-dev iproute2 knockd
system-deps:
	@missing=""; for p in $(SYSTEM_PKGS); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "need root to apt-get install$$missing (run with sudo)"; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@$(NODE) -e "require('cap')" || { echo "FATAL: the cap native module did not build (need libpcap-dev, python3, make, g++)"; exit 1; }

deps: system-deps node_modules/.package-lock.json

build: node_modules/.package-lock.json
	$(TSC) -p tsconfig.json

test: deps build unit lint integration

unit: build
	$(NODE) --expose-gc --test --test-reporter=spec $(UNIT_TESTS)

# Root only: real kernel, throwaway network namespaces. Each test file skips clearly without root.
integration: build
	$(NODE) --test --test-reporter=spec --test-concurrency=2 $(INTEGRATION_TESTS)

lint: build
	$(TSC) -p tsconfig.json --noEmit
	$(NODE) --test --test-reporter=dot dist/test/architecture.test.js

# The narrated tour in throwaway namespaces (root). Installs what it needs first.
demo: deps build
	$(NODE) dist/test/demo/demo.js

clean:
	rm -rf dist

# Root only: build the container image with a private dockerd, run it in a throwaway namespace
# (install-ruleset one-shot, daemon, knock, expiry after the container stops). Needs docker.io,
# debootstrap and knockd; skips with the reason without them (NFTKNOCK_REQUIRE_CONTAINER_TEST=1: fail).
.PHONY: container-test
container-test: build
	timeout 1200 $(NODE) --test --test-reporter=spec dist/test/container/container.test.js
