# nftknock: `sudo make demo` and `sudo make test` do everything on a fresh Debian 12 machine.
SHELL := /bin/bash
NODE  ?= node
TSC   := node_modules/.bin/tsc
PREFIX ?= /usr/local
LIBDIR := $(PREFIX)/lib/nftknock

UNIT_TESTS = $(shell find dist/test/unit -name '*.test.js' 2>/dev/null | sort)
INTEGRATION_TESTS = $(shell find dist/test/integration -name '*.test.js' 2>/dev/null | sort)

.PHONY: all deps system-deps runtime-deps build test unit integration lint demo bench fuzz clean install uninstall

all: build

# System packages (Debian names), installed only when missing. Runtime: what knockctl needs (libpcap
# and libnftables are loaded through koffi, which ships prebuilt binaries: no compiler on the server).
# Test and bench: knockd (its client, and the daemon the bench compares against),
# tcpdump, gcc for the bench's packet sender; fwknop-client (integration tests send with the real client) and
# fwknop-server (the bench compares against fwknopd); sshd/ssh/sudo for the anti-lockout test.
RUNTIME_PKGS := nftables libpcap0.8 iproute2
TEST_PKGS    := knockd tcpdump gcc fwknop-client fwknop-server openssh-server openssh-client sudo
# $(1): packages. $(2): non-empty for packages installed for their programs only (sshd, knockd,
# fwknopd are started by the tests and the bench themselves, in namespaces): their services are kept
# from starting during the install (policy-rc.d) and the units they ship are disabled after, so
# `sudo make test` leaves no new SSH server or door keeper running or enabled on the host.
define apt_missing
	@missing=""; for p in $(1); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "need root to apt-get install$$missing (run with sudo)"; exit 1; fi; \
	  nostart=""; \
	  if [ -n "$(2)" ] && [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 0755 /usr/sbin/policy-rc.d && nostart=1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; rc=$$?; \
	  if [ -n "$$nostart" ]; then rm -f /usr/sbin/policy-rc.d; fi; \
	  [ $$rc = 0 ] || exit $$rc; \
	  if [ -n "$(2)" ] && [ -d /run/systemd/system ]; then \
	    units=$$(dpkg -L $$missing 2>/dev/null | grep -E '^/(usr/)?lib/systemd/system/[^/@]+[.](service|socket)$$' | xargs -r -n1 basename | sort -u | tr '\n' ' '); \
	    if [ -n "$$units" ]; then systemctl disable --now $$units >/dev/null 2>&1 || true; echo "left disabled (installed for the tests' use only): $$units"; fi; \
	  fi; \
	fi
endef

runtime-deps:
	$(call apt_missing,$(RUNTIME_PKGS))

system-deps: runtime-deps
	$(call apt_missing,$(TEST_PKGS),no-services)

# Reinstall only when the lock file's *content* changed (a fresh checkout's newer mtime is not a
# reason to wipe node_modules). The copy of the lock file marks what is installed.
STAMP := node_modules/.nftknock-lock
$(STAMP): package.json package-lock.json
	@if [ -f $@ ] && cmp -s package-lock.json $@ && [ -d node_modules/koffi ]; then touch $@; else \
	  npm ci --no-audit --no-fund && cp package-lock.json $@; fi
	@$(NODE) -e "require('koffi').load('libpcap.so.0.8')" || { echo "FATAL: koffi cannot load libpcap (need Debian's libpcap0.8, and koffi's prebuilt binary for this platform)"; exit 1; }

deps: system-deps $(STAMP)

# The node flags knockctl runs with as installed (the wrapper below, the Containerfile's NODE_OPTIONS,
# the bench: test/unit/docs/node-flags.test.ts keeps them in step). --max-semi-space-size=2 keeps V8's
# young generation small: under a flood every captured packet allocates a short-lived event; the
# daemon's peak RSS for 1M spoofed first knocks was ~150 MB with V8's default and ~130 MB with it.
NODE_FLAGS := --max-semi-space-size=2
# The CLI as one file (src/cli/launch.ts says why): tsc's output bundled, node_modules included
# except koffi (native), ASCII only (V8 then holds the source as one byte per character), no comments
# or indentation, with a source map back to src/ (node --enable-source-maps).
ESBUILD := node_modules/.bin/esbuild
BUNDLE_FLAGS := --bundle --platform=node --target=node20 --format=cjs --external:koffi \
  --charset=ascii --legal-comments=none --minify-whitespace --sourcemap --log-level=warning

# tsc; ajv's standalone validators for the schemas (schemas/gen-validators.ts); the bundle; its code
# cache, made under the installed node flags (V8 ignores a cache made under other flags).
build: $(STAMP)
	$(TSC) -p tsconfig.json
	$(NODE) dist/schemas/gen-validators.js
	$(ESBUILD) dist/src/cli/main.js $(BUNDLE_FLAGS) --outfile=dist/bundle/knockctl.js
	$(NODE) $(NODE_FLAGS) -e "require('./dist/src/cli/launch.js').writeCodeCache()"

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

# Root only: throwaway namespaces, writes docs/BENCHMARKS.md (~10 min; BENCH_QUICK=1 for a ~1 min smoke run).
bench: deps build
	$(NODE) dist/bench/run.js

# Seeded mutation fuzzing of the decoders, SPA verifier, config loader and knockd importer.
# FUZZ_SECONDS (default 60) bounds the whole run; FUZZ_SEED repeats one; FUZZ_TARGET picks targets.
FUZZ_SECONDS ?= 60
fuzz: build
	FUZZ_SECONDS=$(FUZZ_SECONDS) $(NODE) dist/test/fuzz/main.js

clean:
	rm -rf dist

# ---- install / uninstall -------------------------------------------------------------------------
# `sudo make install` (or `make install DESTDIR=/tmp/pkg` for packaging; no root needed then).
# The unit goes to $(PREFIX)/lib/systemd/system (searched by systemd for PREFIX=/usr/local): it is
# a vendor file that upgrades overwrite, while /etc/systemd/system stays the admin's (drop-ins from
# `systemctl edit knockctl` override ours and survive upgrades and uninstall).
BINDIR     ?= $(PREFIX)/bin
UNITDIR    ?= $(PREFIX)/lib/systemd/system
CONFDIR    ?= /etc/knockctl
# The wrapper runs the node found now by absolute path (sudo's secure_path and systemd's PATH may
# not see the same node as the shell that installed) with NODE_FLAGS, on the bundle's launcher.
NODE_BIN   := $(shell command -v $(NODE) 2>/dev/null)
OWNER      := $(if $(filter 0,$(shell id -u)),-o root -g root,)
SYSTEMD_UP := $(if $(DESTDIR),,$(wildcard /run/systemd/system))

install: $(if $(DESTDIR),,runtime-deps)
	@test -n "$(NODE_BIN)" || { echo "install: $(NODE) not found in PATH"; exit 1; }
	@test -n "$(DESTDIR)" -o "$$(id -u)" = 0 || { echo "install: need root (sudo make install), or DESTDIR=... for a staged install"; exit 1; }
	@test -f dist/bundle/knockctl.js.cache || $(MAKE) build
	@# Stage beside the target, then swap, so a failed copy never leaves half a program.
	@# The program is the bundle, its code cache and source map, and its launcher; koffi (native, not
	@# bundled) is its one package.
	rm -rf '$(DESTDIR)$(LIBDIR).new' && install -d -m 0755 '$(DESTDIR)$(LIBDIR).new/dist/src/cli' '$(DESTDIR)$(LIBDIR).new/node_modules'
	cp -R dist/bundle '$(DESTDIR)$(LIBDIR).new/dist/'
	cp dist/src/cli/launch.js '$(DESTDIR)$(LIBDIR).new/dist/src/cli/'
	cp -R node_modules/koffi '$(DESTDIR)$(LIBDIR).new/node_modules/'
	cp package.json README.md '$(DESTDIR)$(LIBDIR).new/'
	cp -R docs '$(DESTDIR)$(LIBDIR).new/docs'
	rm -rf '$(DESTDIR)$(LIBDIR).old'
	if [ -e '$(DESTDIR)$(LIBDIR)' ]; then mv '$(DESTDIR)$(LIBDIR)' '$(DESTDIR)$(LIBDIR).old'; fi
	mv '$(DESTDIR)$(LIBDIR).new' '$(DESTDIR)$(LIBDIR)' && rm -rf '$(DESTDIR)$(LIBDIR).old'
	install -d -m 0755 '$(DESTDIR)$(BINDIR)'
	@# Relative to the wrapper's own location, so a staged (DESTDIR) or moved tree runs as installed.
	printf '#!/bin/sh\n# knockctl, installed by nftknock'"'"'s make install\nhere=$$(dirname "$$(readlink -f "$$0")")\nexec %s $(NODE_FLAGS) "$$here/%s/dist/src/cli/launch.js" "$$@"\n' \
	  '$(NODE_BIN)' "$$(realpath -m --relative-to='$(BINDIR)' '$(LIBDIR)')" > '$(DESTDIR)$(BINDIR)/knockctl'
	chmod 0755 '$(DESTDIR)$(BINDIR)/knockctl'
	install -d -m 0700 $(OWNER) '$(DESTDIR)$(CONFDIR)'
	@if [ -e '$(DESTDIR)$(CONFDIR)/config.yaml' ]; then \
	  install -m 0600 $(OWNER) deploy/config.example.yaml '$(DESTDIR)$(CONFDIR)/config.yaml.example'; \
	  echo "kept $(CONFDIR)/config.yaml; the current example is $(CONFDIR)/config.yaml.example"; \
	else \
	  install -m 0600 $(OWNER) deploy/config.example.yaml '$(DESTDIR)$(CONFDIR)/config.yaml'; \
	  echo "installed the example $(CONFDIR)/config.yaml: edit it before enabling the service"; \
	fi
	install -d -m 0755 '$(DESTDIR)$(UNITDIR)'
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' deploy/knockctl.service.in > '$(DESTDIR)$(UNITDIR)/knockctl.service'
	chmod 0644 '$(DESTDIR)$(UNITDIR)/knockctl.service'
	$(if $(SYSTEMD_UP),systemctl daemon-reload)
	@echo "installed knockctl in $(DESTDIR)$(LIBDIR), $(DESTDIR)$(BINDIR)/knockctl and $(DESTDIR)$(UNITDIR)/knockctl.service"
	@echo "next: sudoedit $(CONFDIR)/config.yaml; sudo knockctl install-ruleset --confirm 60; sudo knockctl confirm; sudo systemctl enable --now knockctl"
	@echo "upgrading? sudo systemctl restart knockctl (grants live in the kernel and survive it)"

# Keeps $(CONFDIR)/config.yaml and the state directory, and leaves the ruleset in the kernel: deleting
# our table would change what the host lets in, so that stays an explicit `knockctl uninstall-ruleset`.
uninstall:
	@test -n "$(DESTDIR)" -o "$$(id -u)" = 0 || { echo "uninstall: need root (sudo make uninstall)"; exit 1; }
	$(if $(SYSTEMD_UP),-systemctl disable --now knockctl.service)
	rm -f '$(DESTDIR)$(UNITDIR)/knockctl.service' '$(DESTDIR)$(BINDIR)/knockctl'
	rm -rf '$(DESTDIR)$(LIBDIR)' '$(DESTDIR)$(LIBDIR).new' '$(DESTDIR)$(LIBDIR).old'
	$(if $(SYSTEMD_UP),systemctl daemon-reload)
	@echo "removed knockctl. Kept: $(CONFDIR)/config.yaml (and any config.yaml.example) and /var/lib/knockctl (the state directory)."
	@echo "The ruleset, if installed, is still in the kernel (table inet knockctl): remove it with 'nft delete table inet knockctl'."

# Render the unit and let systemd-analyze check it; any complaint about the unit fails. With DESTDIR,
# the staged knockctl wrapper is the ExecStart target (it must be executable); otherwise a stub is.
.PHONY: check-systemd
check-systemd:
	@command -v systemd-analyze >/dev/null || { echo "check-systemd: systemd-analyze not found, skipped"; exit 0; }
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && bin='$(DESTDIR)$(BINDIR)'; \
	if [ ! -x "$$bin/knockctl" ]; then bin="$$tmp/bin"; mkdir -p "$$bin"; printf '#!/bin/sh\n' > "$$bin/knockctl"; chmod 0755 "$$bin/knockctl"; fi; \
	bin=$$(cd "$$bin" && pwd); \
	sed -e "s|@BINDIR@|$$bin|g" -e 's|@LIBDIR@|$(LIBDIR)|g' deploy/knockctl.service.in > "$$tmp/knockctl.service"; \
	out=$$(systemd-analyze verify "$$tmp/knockctl.service" 2>&1); rc=$$?; \
	bad=$$(printf '%s\n' "$$out" | grep 'knockctl\.service'); \
	if [ $$rc -ne 0 ] || [ -n "$$bad" ]; then printf '%s\n' "$$out"; echo "check-systemd: knockctl.service has problems"; exit 1; fi; \
	test -z "$$out" || printf 'systemd-analyze (not about our unit):\n%s\n' "$$out"; \
	echo "check-systemd: knockctl.service ok"

# Root only: build the container image with a private dockerd, run it in a throwaway namespace
# (install-ruleset one-shot, daemon, knock, expiry after the container stops). Needs docker.io,
# debootstrap and knockd; skips with the reason without them (NFTKNOCK_REQUIRE_CONTAINER_TEST=1: fail).
.PHONY: container-test
container-test: build
	timeout 1200 $(NODE) --test --test-reporter=spec dist/test/container/container.test.js
