# swiftmlp - build, install, demo and test.
#
#   make                    release libswiftmlp.so in build/lib (Swift runtime inside)
#   make install PREFIX=/p  lib/, include/, lib/pkgconfig/ under /p (default /usr/local)
#   make demo               build, then run the examples
#   make test               every test: Swift, C (against an installed copy), Python,
#                           the NumPy reference (quick)
#   make compare            the full NumPy comparison
#   make fuzz               libFuzzer on model loading for FUZZ_SECONDS (default 600)
#   make fuzz-api           libFuzzer on the whole C ABI for FUZZ_SECONDS
#   make hardening | sanitize | valgrind   the reliability checks (also in make test)
#   make bench              the benchmark against peers and the BLAS roofline
#   make clean

VERSION      := 0.1.0
SOVERSION    := 0
PREFIX       ?= /usr/local
BUILD        := build
LIBNAME      := libswiftmlp.so
SONAME       := $(LIBNAME).$(SOVERSION)
REALNAME     := $(LIBNAME).$(VERSION)
SWIFT        ?= swift
CC           ?= cc
PYTHON       ?= python3
# Where `make test` installs the library to build the C tests with pkg-config alone.
TEST_PREFIX  := $(CURDIR)/$(BUILD)/test-prefix

SWIFT_RELEASE_FLAGS := -c release --product swiftmlp \
    -Xswiftc -static-stdlib \
    -Xlinker --version-script=$(CURDIR)/build-support/libswiftmlp.map \
    -Xlinker -soname=$(SONAME)

SWIFT_SOURCES := $(shell find Sources -name '*.swift' -o -name '*.modulemap' -o -name '*.h') \
                 include/swiftmlp.h Package.swift build-support/libswiftmlp.map

.PHONY: all bootstrap library install uninstall demo examples test test-swift test-c \
        test-python test-scripts test-fuzz test-mpi hardening sanitize valgrind fuzz-api \
        test-fuzz-api fuzz bench bench-quick compare clean

all: library

bootstrap:
	@scripts/bootstrap.sh

library: $(BUILD)/lib/$(REALNAME)

$(BUILD)/lib/$(REALNAME): $(SWIFT_SOURCES) | bootstrap
	@# SwiftPM does not track the version script: drop the old link so it relinks.
	rm -f .build/release/$(LIBNAME)
	$(SWIFT) build $(SWIFT_RELEASE_FLAGS)
	mkdir -p $(BUILD)/lib
	cp .build/release/$(LIBNAME) $@.tmp
	strip --strip-unneeded $@.tmp
	mv $@.tmp $@
	ln -sf $(REALNAME) $(BUILD)/lib/$(SONAME)
	ln -sf $(SONAME) $(BUILD)/lib/$(LIBNAME)

install: library
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 755 $(BUILD)/lib/$(REALNAME) $(DESTDIR)$(PREFIX)/lib/$(REALNAME)
	ln -sf $(REALNAME) $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(PREFIX)/lib/$(LIBNAME)
	install -m 644 include/swiftmlp.h $(DESTDIR)$(PREFIX)/include/swiftmlp.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' build-support/swiftmlp.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/swiftmlp.pc

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/lib/$(REALNAME) $(DESTDIR)$(PREFIX)/lib/$(SONAME) \
	      $(DESTDIR)$(PREFIX)/lib/$(LIBNAME) $(DESTDIR)$(PREFIX)/include/swiftmlp.h \
	      $(DESTDIR)$(PREFIX)/lib/pkgconfig/swiftmlp.pc

# ---- Examples -------------------------------------------------------------------

EXAMPLE_CFLAGS := -std=c99 -O2 -Wall -Wextra -pedantic -Werror -Iinclude
EXAMPLE_LDFLAGS := -L$(BUILD)/lib -lswiftmlp -lm -Wl,-rpath,$(CURDIR)/$(BUILD)/lib
EXAMPLES := $(BUILD)/examples/xor $(BUILD)/examples/digits $(BUILD)/examples/parity

examples: $(EXAMPLES)

$(BUILD)/examples/%: examples/%.c examples/*.h include/swiftmlp.h $(BUILD)/lib/$(REALNAME)
	mkdir -p $(BUILD)/examples
	$(CC) $(EXAMPLE_CFLAGS) -o $@ $< $(EXAMPLE_LDFLAGS)

demo: examples
	@echo "== examples/xor.c: a 2-4-1 network learns XOR =="
	$(BUILD)/examples/xor
	@echo
	@echo "== examples/digits.c: 64-64-10 on 8x8 handwritten digits =="
	$(BUILD)/examples/digits examples/data
	@echo
	@echo "== examples/parity.c: 8-16-1 learns 8-bit parity with RPROP =="
	$(BUILD)/examples/parity

# ---- Tests ----------------------------------------------------------------------

test: test-swift test-c test-python test-scripts test-fuzz test-mpi hardening sanitize \
      valgrind test-fuzz-api

test-swift: | bootstrap
	$(SWIFT) test

# The C tests build against a copy installed into a temporary prefix, with nothing
# but pkg-config, exactly as a user's program would.
test-c: library
	rm -rf $(TEST_PREFIX)
	$(MAKE) --no-print-directory install PREFIX=$(TEST_PREFIX)
	PREFIX=$(TEST_PREFIX) CC=$(CC) Tests/c/run.sh

test-python: library
	@scripts/bootstrap.sh python
	SWIFTMLP_LIBRARY=$(CURDIR)/$(BUILD)/lib/$(SONAME) $(PYTHON) -m pytest -q bindings/python/tests

# The NumPy reference against the library: a quick subset in `make test`, all of it here.
test-scripts: library
	@scripts/bootstrap.sh python
	SWIFTMLP_LIBRARY=$(CURDIR)/$(BUILD)/lib/$(SONAME) $(PYTHON) -m pytest -q scripts/tests

compare: library
	@scripts/bootstrap.sh python
	SWIFTMLP_LIBRARY=$(CURDIR)/$(BUILD)/lib/$(SONAME) $(PYTHON) scripts/compare_numpy.py

# Data-parallel training over MPI (Open MPI from Debian): ranks agree bit for bit and
# match a single process; Tests/mpi/run.sh skips without MPI, except under CI.
MPICC ?= mpicc
test-mpi: library
	@scripts/bootstrap.sh mpi
	MPICC=$(MPICC) Tests/mpi/run.sh

# libFuzzer on smlp_load_from_buffer, with the Swift code instrumented (.build-fuzz).
FUZZ_SECONDS ?= 600
fuzz: | bootstrap
	Tests/fuzz/run.sh $(FUZZ_SECONDS)

test-fuzz: | bootstrap
	Tests/fuzz/run.sh 30

# Hardening (docs/reliability.md): threads, non-finite data and memory limits; the
# Swift tests under ASan and TSan (and a C thread test under TSan); the C tests and
# examples under valgrind memcheck; libFuzzer driving the whole C ABI.
hardening: library
	Tests/hardening/run.sh

sanitize: | bootstrap
	Tests/hardening/sanitizers.sh

valgrind: library examples
	Tests/hardening/valgrind.sh

fuzz-api: | bootstrap
	Tests/fuzz_api/run.sh $(FUZZ_SECONDS)

test-fuzz-api: | bootstrap
	Tests/fuzz_api/run.sh 30

# Speed against peers and the BLAS roofline (bench/README.md); prints ratios, never fails
# on a missed target.
bench: | bootstrap
	@scripts/bootstrap.sh bench
	bench/run.sh $(BENCH_ARGS)

bench-quick: | bootstrap
	@scripts/bootstrap.sh bench
	bench/run.sh --quick

clean:
	rm -rf $(BUILD) .build .build-fuzz .build-fuzz-api .build-asan .build-tsan
