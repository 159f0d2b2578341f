# res_agi_rs — see README.md. Every target installs what it needs itself.
CARGO ?= cargo
SANDBOX := scripts/sandbox.sh
# The Asterisk to build for and test against: deb (Debian sid's package in the sandbox, the
# default) or an upstream tag built from ../shared/asterisk-src in the chroot (issue 17).
RS_TARGET ?= deb
export RS_TARGET
SOURCE_TAGS := 20.20.1 22.10.1 23.4.1 certified-20.7-cert11 certified-22.8-cert4 22.10.1-nossl 22.10.1-noxmldoc
# `make test` runs Debian's full suite, then the differential core on these source builds.
CI_TAGS ?= 20.20.1 23.4.1
# Built by `make test` too, for tests/build_options.rs (22.10.1 configured --without-ssl and
# --disable-xmldoc: the module must load and work there; issue 27). make test-versions runs
# the suite on them.
OPTION_TAGS := 22.10.1-nossl 22.10.1-noxmldoc
# The differential core (issue 17): Async AGI, the command list, classic AGI (scripts,
# FastAGI, HAGI, EAGI, DeadAGI where the version has it), GOSUB through app_stack, a declined
# load beside stock, unload under traffic, the test framework where there is one.
CORE_TESTS := --test versions --test stock_compare --test async_agi --test classic_agi --test public_api \
	--test module_lifecycle --test asterisk_selftest --test edge_paths --test metrics --test fastagi_tls
ifeq ($(RS_TARGET),deb)
MODULE := build/res_agi_rs.so
SPEECH := build/test_speech.so
CARGO_TARGET := target
else
MODULE := build/$(RS_TARGET)/res_agi_rs.so
SPEECH := build/$(RS_TARGET)/test_speech.so
CARGO_TARGET := target/ast-$(RS_TARGET)
endif
DESTDIR ?=
ASTERISK_MODDIR ?= /usr/lib/x86_64-linux-gnu/asterisk/modules
ASTERISK_ETCDIR ?= /etc/asterisk
ASTERISK_DATADIR ?= /usr/share/asterisk

.PHONY: all module sandbox asterisk ci-targets test-deps demo test test-core test-speech test-versions bench stress soak heap memcheck fuzz deb install clean

all: module

# The sandbox provides the Asterisk 22 headers the build reads (unless ASTERISK_INCLUDE_DIR
# points at another Asterisk's).
sandbox:
	@$(SANDBOX) provision

# The target's Asterisk: the sandbox, and for a source tag its build (cached by checksum).
asterisk: sandbox
	@[ "$(RS_TARGET)" = deb ] || $(SANDBOX) build $(RS_TARGET)

# Built against the target's headers (each source target in its own cargo target dir).
# (Debian's: the sandbox's headers, found by build.rs itself, in cargo's own target dir.)
module: $(if $(ASTERISK_INCLUDE_DIR),,asterisk)
ifeq ($(RS_TARGET),deb)
	$(CARGO) build --release
else
	ASTERISK_INCLUDE_DIR=$${ASTERISK_INCLUDE_DIR:-$$($(SANDBOX) include-dir)} CARGO_TARGET_DIR=$(CARGO_TARGET) \
		ASTERISK_VERSION=$${ASTERISK_VERSION:-$(RS_TARGET)} $(CARGO) build --release
endif
	@mkdir -p $(dir $(MODULE))
	cp $(CARGO_TARGET)/release/libres_agi_rs.so $(MODULE)
	@echo "built $(MODULE) for $(RS_TARGET)"

demo: module
	$(CARGO) run --release --quiet -p res_agi_rs_tools --bin demo

# A speech engine used only by the tests (SPEECH commands), built against the same headers.
$(SPEECH): tests/speech_engine/test_speech.c | asterisk
	@mkdir -p $(dir $@)
	$(CC) -shared -fPIC -O2 -Wall -D_GNU_SOURCE -I$${ASTERISK_INCLUDE_DIR:-$$($(SANDBOX) include-dir)} \
		-DAST_MODULE=\"test_speech\" -DAST_MODULE_SELF_SYM=__internal_test_speech_self \
		-o $@ $<

# The source builds make test runs against (the cross-release tests of the main suite load them too).
ci-targets:
	@for t in $(CI_TAGS) $(OPTION_TAGS); do $(MAKE) --no-print-directory module test-speech RS_TARGET=$$t || exit 1; done

# What the tests use besides Asterisk: panoramisk, cryptography (the TLS tests' certificates),
# the Node client's packages, cargo-deb.
test-deps:
	@python3 -c 'import panoramisk' 2>/dev/null || pip install --quiet 'panoramisk==1.4'
	@python3 -c 'import cryptography' 2>/dev/null || pip install --quiet 'cryptography'
	@[ -d docs/examples/node/node_modules/asterisk-manager ] || npm ci --prefix docs/examples/node --no-audit --no-fund --silent
	@command -v cargo-deb >/dev/null 2>&1 || cargo install --locked --quiet cargo-deb@3.8.0

test: module $(SPEECH) ci-targets test-deps
	scripts/fuzz.sh 20000
	$(CARGO) test --release -- --test-threads=2
	@for t in $(CI_TAGS); do $(MAKE) --no-print-directory test-core RS_TARGET=$$t || exit 1; done

# The tests' speech engine for the target.
test-speech: $(SPEECH)

# The differential core against one source build: make test-core RS_TARGET=TAG.
test-core: module $(SPEECH)
	@echo "== the differential core on Asterisk $(RS_TARGET) =="
	$(CARGO) test --release $(CORE_TESTS) -- --test-threads=2

# Every target of the table, each with the full suite where it applies (scripts/test-versions.sh):
# writes docs/versions.md and the README's compatibility table from the run.
test-versions: test-deps
	scripts/test-versions.sh $(SOURCE_TAGS)

bench: module
	$(CARGO) run --release --quiet -p res_agi_rs_tools --bin bench

# Storms and unload under load on a real Asterisk (minutes); writes docs/reliability.md.
stress: module $(SPEECH)
	$(CARGO) run --release --quiet -p res_agi_rs_tools --bin stress

# `module unload` while each kind of work is in flight (issue 27, tests/lifetime.rs): every
# scenario 20 times in a row (make test runs each 3 times).
.PHONY: lifetime
lifetime: module test-deps
	LIFETIME_RUNS=20 $(CARGO) test --release --test lifetime -- --test-threads=1

# 30 minutes at 500 parked calls; writes docs/soak.csv and docs/soak.svg (make test runs 2).
soak: module
	$(CARGO) run --release --quiet -p res_agi_rs_tools --bin soak -- 30

# Where Asterisk's memory goes under the soak load, stock and ours: heaptrack's live heap and
# glibc's per-thread caches (about 25 minutes); writes docs/heap.md.
heap: module
	scripts/heap.sh

# The differential suite, the TLS FastAGI and metrics tests (issue 27) and the storms with every
# Asterisk under valgrind memcheck, stock and ours; writes docs/memcheck.md (about an hour on 2 cores).
MEMCHECK_DIR := $(CURDIR)/target/memcheck
memcheck: module $(SPEECH)
	rm -rf $(MEMCHECK_DIR)
	RS_VALGRIND=$(MEMCHECK_DIR) $(CARGO) test --release --test stock_compare -- --test-threads=1
	RS_VALGRIND=$(MEMCHECK_DIR) $(CARGO) test --release --test fastagi_tls --test metrics -- --test-threads=1 --skip a_thousand_calls
	RS_VALGRIND=$(MEMCHECK_DIR) $(CARGO) run --release --quiet -p res_agi_rs_tools --bin stress -- --storms 20
	RS_VALGRIND=$(MEMCHECK_DIR) $(CARGO) run --release --quiet -p res_agi_rs_tools --bin stress -- --storms 20 --stock
	$(CARGO) run --release --quiet -p res_agi_rs_tools --bin memcheck -- $(MEMCHECK_DIR)

# Coverage-guided fuzzing of the parsers: 10 million inputs per target (fuzz/, cargo-fuzz on
# stable Rust), then the corpus minimized; writes docs/fuzzing.md. `make test` runs 20,000.
# FUZZ_CASES=N cargo test --test fuzz_parsers runs the property tests longer.
fuzz:
	scripts/fuzz.sh 10000000 report

# A Debian package for the sandbox's Asterisk (ASTERISK_VERSION=… for another): cargo-deb.
deb: module
	scripts/deb.sh

# Into a source-built Asterisk: make install ASTERISK_PREFIX=<its prefix> [ASTERISK=<its CLI
# command>]: scripts/install.sh builds against that prefix's headers, checks them against the
# running Asterisk (build options, release) and installs where `core show settings` says.
# Without either: the module built by `make module` (ASTERISK_INCLUDE_DIR=…) into ASTERISK_MODDIR.
install: $(if $(ASTERISK_PREFIX)$(ASTERISK),,module)
ifneq ($(ASTERISK_PREFIX)$(ASTERISK),)
	scripts/install.sh
else
	install -D -m 0755 $(MODULE) $(DESTDIR)$(ASTERISK_MODDIR)/res_agi_rs.so
	install -D -m 0644 conf/res_agi_rs.conf.sample $(DESTDIR)$(ASTERISK_ETCDIR)/res_agi_rs.conf.sample
	install -D -m 0644 docs/xml/res_agi_rs-en_US.xml $(DESTDIR)$(ASTERISK_DATADIR)/documentation/thirdparty/res_agi_rs-en_US.xml
endif

clean:
	$(CARGO) clean
	rm -rf build
