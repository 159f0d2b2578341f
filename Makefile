# res_agi_rs — see README.md. Every target installs what it needs itself.
CARGO ?= cargo
SANDBOX := scripts/sandbox.sh
MODULE := build/res_agi_rs.so
DESTDIR ?=
ASTERISK_MODDIR ?= /usr/lib/x86_64-linux-gnu/asterisk/modules
ASTERISK_ETCDIR ?= /etc/asterisk
ASTERISK_DATADIR ?= /usr/share/asterisk

.PHONY: all module sandbox demo test bench stress soak heap memcheck fuzz deb install clean

all: module

# The sandbox provides the Asterisk 22 headers the build reads (unless ASTERISK_INCLUDE_DIR
# points at another Asterisk's).
sandbox:
	@$(SANDBOX) provision

module: $(if $(ASTERISK_INCLUDE_DIR),,sandbox)
	$(CARGO) build --release
	@mkdir -p build
	cp target/release/libres_agi_rs.so $(MODULE)
	@echo "built $(MODULE)"

demo: module
	$(CARGO) run --release --quiet -p res_agi_rs_tools --bin demo

# A speech engine used only by the tests (SPEECH commands), built against the same headers.
build/test_speech.so: tests/speech_engine/test_speech.c | sandbox
	@mkdir -p build
	$(CC) -shared -fPIC -O2 -Wall -D_GNU_SOURCE -I$${ASTERISK_INCLUDE_DIR:-$$($(SANDBOX) include-dir)} \
		-DAST_MODULE=\"test_speech\" -DAST_MODULE_SELF_SYM=__internal_test_speech_self \
		-o $@ $<

test: module build/test_speech.so
	@python3 -c 'import panoramisk' 2>/dev/null || pip install --quiet 'panoramisk==1.4'
	@[ -d docs/examples/node/node_modules/asterisk-manager ] || npm ci --prefix docs/examples/node --no-audit --no-fund --silent
	@command -v cargo-deb >/dev/null 2>&1 || cargo install --locked --quiet cargo-deb@3.8.0
	scripts/fuzz.sh 20000
	$(CARGO) test --release -- --test-threads=2

bench: module
	$(CARGO) run --release --quiet -p res_agi_rs_tools --bin bench

# Storms and unload under load on a real Asterisk (minutes); writes docs/reliability.md.
stress: module build/test_speech.so
	$(CARGO) run --release --quiet -p res_agi_rs_tools --bin stress

# 30 minutes at 500 parked calls; writes docs/soak.csv and docs/soak.svg (make test runs 2).
soak: module
	$(CARGO) run --release --quiet -p res_agi_rs_tools --bin soak -- 30

# Where Asterisk's memory goes under the soak load, stock and ours: heaptrack's live heap and
# glibc's per-thread caches (about 25 minutes); writes docs/heap.md.
heap: module
	scripts/heap.sh

# The differential suite and the storms with every Asterisk under valgrind memcheck, stock
# and ours; writes docs/memcheck.md (about an hour on 2 cores).
MEMCHECK_DIR := $(CURDIR)/target/memcheck
memcheck: module build/test_speech.so
	rm -rf $(MEMCHECK_DIR)
	RS_VALGRIND=$(MEMCHECK_DIR) $(CARGO) test --release --test stock_compare -- --test-threads=1
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

install: module
	install -D -m 0755 $(MODULE) $(DESTDIR)$(ASTERISK_MODDIR)/res_agi_rs.so
	install -D -m 0644 conf/res_agi_rs.conf.sample $(DESTDIR)$(ASTERISK_ETCDIR)/res_agi_rs.conf.sample
	install -D -m 0644 docs/xml/res_agi_rs-en_US.xml $(DESTDIR)$(ASTERISK_DATADIR)/documentation/thirdparty/res_agi_rs-en_US.xml

clean:
	$(CARGO) clean
	rm -rf build
