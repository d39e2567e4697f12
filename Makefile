# swiftmlp - build, install, demo and test.
#
#   make                    libswiftmlp.so in build/lib: Embedded Swift (no Swift runtime;
#                           needs only libc, libm and OpenBLAS; docs/embedded.md)
#   make library-swiftpm    the same library built by SwiftPM with the Swift runtime
#                           inside, in build/swiftpm (the reference for test-same-bits)
#   make install PREFIX=/p  lib/ (+ pkgconfig/, cmake/swiftmlp/), include/, share/swiftmlp/
#                           under /p (default /usr/local)
#   make wheel              dist/swiftmlp-*-manylinux_*.whl: the Python package with the
#                           library and OpenBLAS inside (docs/install.md)
#   make deb                dist/swiftmlp_*.deb: library, header, pkg-config, CMake files
#   make dist               dist/swiftmlp-VERSION.tar.gz: the tracked sources
#   make demo               build, then run the examples
#   make test               every test: no compiler warnings, Swift, C (against an
#                           installed copy), the same bits from both builds, Python,
#                           the NumPy reference (quick), the packages (test-install)
#   make compare            the full NumPy comparison
#   make fuzz               libFuzzer on model loading for FUZZ_SECONDS (default 600)
#   make fuzz-api           libFuzzer on the whole C ABI for FUZZ_SECONDS
#   make hardening | sanitize | valgrind   the reliability checks (also in make test)
#   make bench              the benchmark against peers and the BLAS roofline
#   make clean

# The version is written once, in include/swiftmlp.h (SMLP_VERSION_MAJOR/MINOR/PATCH).
version_part = $(shell sed -nE 's/^\#define SMLP_VERSION_$(1) +([0-9]+).*/\1/p' include/swiftmlp.h)
VERSION      := $(call version_part,MAJOR).$(call version_part,MINOR).$(call version_part,PATCH)
SOVERSION    := 0
PREFIX       ?= /usr/local
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
DATADIR      ?= $(PREFIX)/share/swiftmlp
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

.PHONY: all bootstrap bootstrap-test library library-swiftpm embedded install install-swiftpm uninstall \
        wheel deb dist demo examples test test-commits test-warnings test-swift test-c test-same-bits test-install \
        test-python test-scripts test-fuzz test-mpi hardening sanitize \
        valgrind fuzz-api \
        test-fuzz-api fuzz bench bench-quick compare clean

all: library

# What building needs (Swift, libopenblas-dev, pkg-config, a C compiler); what only the
# tests need (valgrind, CMake, ...) comes with bootstrap-test.
bootstrap:
	@scripts/bootstrap.sh

bootstrap-test:
	@scripts/bootstrap.sh test

# The shipped library is the Embedded Swift build (docs/embedded.md): no Swift runtime
# inside, about 1.0 MB, needing only libc, libm and OpenBLAS. Its unstripped twin (same
# build-id, for debuggers, valgrind and test_vectorised.sh) is build/embedded/obj/.
library: $(BUILD)/lib/$(REALNAME)

$(BUILD)/lib/$(REALNAME): $(BUILD)/embedded/$(REALNAME)
	mkdir -p $(BUILD)/lib
	cp $< $@.tmp
	mv $@.tmp $@
	ln -sf $(REALNAME) $(BUILD)/lib/$(SONAME)
	ln -sf $(SONAME) $(BUILD)/lib/$(LIBNAME)

UNSTRIPPED := $(CURDIR)/$(BUILD)/embedded/obj/$(REALNAME)

# The same C library built by SwiftPM with the Swift runtime linked in statically
# (-static-stdlib, 7.3 MB): the reference the Embedded build must match bit for bit.
library-swiftpm: $(BUILD)/swiftpm/$(REALNAME)

$(BUILD)/swiftpm/$(REALNAME): $(SWIFT_SOURCES) | bootstrap
	@# SwiftPM does not track the version script: drop the old link so it relinks.
	rm -f .build/release/$(LIBNAME)
	$(SWIFT) build $(SWIFT_RELEASE_FLAGS)
	mkdir -p $(BUILD)/swiftpm
	cp .build/release/$(LIBNAME) $@.tmp
	strip --strip-unneeded $@.tmp
	mv $@.tmp $@
	ln -sf $(REALNAME) $(BUILD)/swiftpm/$(SONAME)
	ln -sf $(SONAME) $(BUILD)/swiftpm/$(LIBNAME)

# Substitutes the install's paths and version into a build-support/*.in template.
SUBSTITUTE = sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@DATADIR@|$(DATADIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
    -e 's|@VERSION_MAJOR@|$(call version_part,MAJOR)|g' -e 's|@SOVERSION@|$(SOVERSION)|g'
CMAKEDIR := $(LIBDIR)/cmake/swiftmlp
INSTALLED := $(LIBDIR)/$(REALNAME) $(LIBDIR)/$(SONAME) $(LIBDIR)/$(LIBNAME) \
    $(INCLUDEDIR)/swiftmlp.h $(LIBDIR)/pkgconfig/swiftmlp.pc $(CMAKEDIR)/swiftmlpConfig.cmake \
    $(CMAKEDIR)/swiftmlpConfigVersion.cmake $(DATADIR)/valgrind.supp

# $(call install_library,DIR): the library in DIR (build/lib or build/swiftpm) (+ soname
# links), the header, pkg-config and CMake files, and the valgrind suppressions for the
# Swift runtime's one-time allocations, which only the SwiftPM build has (docs/install.md).
define install_library
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(CMAKEDIR) \
	    $(DESTDIR)$(DATADIR)
	install -m 644 $(1)/$(REALNAME) $(DESTDIR)$(LIBDIR)/$(REALNAME)
	ln -sf $(REALNAME) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/$(LIBNAME)
	install -m 644 include/swiftmlp.h $(DESTDIR)$(INCLUDEDIR)/swiftmlp.h
	$(SUBSTITUTE) build-support/swiftmlp.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/swiftmlp.pc
	$(SUBSTITUTE) build-support/swiftmlpConfig.cmake.in > $(DESTDIR)$(CMAKEDIR)/swiftmlpConfig.cmake
	$(SUBSTITUTE) build-support/swiftmlpConfigVersion.cmake.in \
	    > $(DESTDIR)$(CMAKEDIR)/swiftmlpConfigVersion.cmake
	install -m 644 build-support/valgrind.supp $(DESTDIR)$(DATADIR)/valgrind.supp
	@# Into the live system as root (e.g. /usr/local/lib): refresh the loader's cache,
	@# or programs linked against the new soname do not find it until ldconfig runs.
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null 2>&1; then \
	    ldconfig; fi
endef

install: library
	$(call install_library,$(BUILD)/lib)

# Embedded Swift (docs/embedded.md): the same sources, compiled by swiftc directly.
embedded: $(BUILD)/embedded/$(REALNAME)

$(BUILD)/embedded/$(REALNAME): $(SWIFT_SOURCES) build-support/build-embedded.sh \
        build-support/embedded-runtime.c | bootstrap
	build-support/build-embedded.sh $(BUILD)/embedded $(REALNAME) $(SONAME)

install-swiftpm: library-swiftpm
	$(call install_library,$(BUILD)/swiftpm)

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	-rmdir $(DESTDIR)$(CMAKEDIR) $(DESTDIR)$(DATADIR) 2>/dev/null

# ---- Packages (docs/install.md) -------------------------------------------------

DIST := dist
DEB_ARCH = $(shell dpkg --print-architecture)
DEB_MULTIARCH = $(shell $(CC) -print-multiarch)
DEB_ROOT := $(BUILD)/deb/root
# The newest glibc symbol version the library uses: its Depends on libc6.
DEB_GLIBC = $(shell objdump -T $(BUILD)/lib/$(REALNAME) | grep -oE 'GLIBC_2\.[0-9]+' | sort -V | tail -n 1 | cut -d_ -f2)

# pip builds the platform wheel around the library make built; auditwheel then copies
# the OpenBLAS it links (and libgfortran, libquadmath) into swiftmlp.libs/ and points
# the library's RPATH there, and tags it manylinux for the glibc it needs.
# The licences of what auditwheel copies in, from Debian's packages of them (OpenBLAS:
# BSD-3-Clause; libgfortran: GPL-3 with the GCC runtime exception; libquadmath: LGPL-2.1).
WHEEL_LICENSES = openblas=/usr/share/doc/libopenblas0-pthread/copyright:$\
libgfortran=/usr/share/doc/libgfortran5/copyright:libquadmath=/usr/share/doc/libquadmath0/copyright

wheel: library
	@scripts/bootstrap.sh wheel
	# setuptools' own build folder would carry files of earlier builds into the wheel
	rm -rf $(BUILD)/wheel $(DIST)/swiftmlp-*.whl bindings/python/build bindings/python/swiftmlp.egg-info
	SWIFTMLP_BUNDLE_LIBRARY=$(CURDIR)/$(BUILD)/lib/$(SONAME) SWIFTMLP_BUNDLE_LICENSES="$(WHEEL_LICENSES)" \
	    $(PYTHON) -m pip wheel -q --no-deps --no-build-isolation -w $(BUILD)/wheel ./bindings/python
	$(PYTHON) -m auditwheel repair -w $(DIST) $(BUILD)/wheel/swiftmlp-*.whl
	@ls -l $(DIST)/swiftmlp-*.whl

# One package with the library and what building against it needs, installed under
# /usr (the library in the multiarch folder, where the linker and CMake look).
deb: library
	rm -rf $(BUILD)/deb
	$(MAKE) --no-print-directory install DESTDIR=$(CURDIR)/$(DEB_ROOT) PREFIX=/usr \
	    LIBDIR=/usr/lib/$(DEB_MULTIARCH)
	install -d $(DEB_ROOT)/DEBIAN $(DIST)
	$(SUBSTITUTE) -e 's|@ARCH@|$(DEB_ARCH)|g' -e 's|@GLIBC@|$(DEB_GLIBC)|g' \
	    -e "s|@INSTALLED_SIZE@|$$(du -sk --exclude=DEBIAN $(DEB_ROOT) | cut -f1)|g" \
	    build-support/deb-control.in > $(DEB_ROOT)/DEBIAN/control
	echo "activate-noawait ldconfig" > $(DEB_ROOT)/DEBIAN/triggers
	dpkg-deb --root-owner-group -Zxz --build $(DEB_ROOT) $(DIST)/swiftmlp_$(VERSION)-1_$(DEB_ARCH).deb

# The tracked files of the checkout as they are now, under swiftmlp-VERSION/.
dist:
	rm -f $(DIST)/swiftmlp-$(VERSION).tar.gz
	mkdir -p $(BUILD) $(DIST)
	git ls-files -z > $(BUILD)/dist-files
	tar --null -T $(BUILD)/dist-files --transform 's|^|swiftmlp-$(VERSION)/|' --owner=0 --group=0 \
	    --numeric-owner --sort=name -czf $(DIST)/swiftmlp-$(VERSION).tar.gz
	@ls -l $(DIST)/swiftmlp-$(VERSION).tar.gz

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

test: bootstrap-test test-commits test-warnings test-swift test-c test-same-bits test-python \
      test-scripts test-fuzz test-mpi hardening sanitize valgrind test-fuzz-api test-install

# Commit subjects of at most 72 characters, from the commit the rule was adopted on.
test-commits:
	scripts/check_commit_subjects.sh

test-swift: | bootstrap
	$(SWIFT) test

# Zero warnings: the SwiftPM release library and the debug build with its tests compile
# with warnings as errors, and the shipped Embedded build's log has no "warning:", all
# in their own scratch path so that the ordinary builds keep theirs.
test-warnings: | bootstrap
	$(SWIFT) build --scratch-path .build-warnings $(SWIFT_RELEASE_FLAGS) -Xswiftc -warnings-as-errors
	$(SWIFT) build --scratch-path .build-warnings --build-tests -Xswiftc -warnings-as-errors
	mkdir -p .build-warnings
	build-support/build-embedded.sh .build-warnings/embedded $(REALNAME) $(SONAME) \
	    > .build-warnings/embedded.log 2>&1 || { cat .build-warnings/embedded.log; exit 1; }
	@if grep "warning:" .build-warnings/embedded.log; then \
	    echo "test-warnings: the Embedded build warns (above)"; exit 1; fi

# The C tests build against a copy installed into a temporary prefix, with nothing
# but pkg-config, exactly as a user's program would.
test-c: library
	rm -rf $(TEST_PREFIX)
	$(MAKE) --no-print-directory install PREFIX=$(TEST_PREFIX)
	PREFIX=$(TEST_PREFIX) CC=$(CC) SWIFTMLP_EMBEDDED=1 SWIFTMLP_UNSTRIPPED=$(UNSTRIPPED) \
	    Tests/c/run.sh

# The shipped (Embedded) library and the SwiftPM build give the same bits and the same
# messages on the same calls (Tests/embedded/compare.sh, at 1 and 2 BLAS threads).
SWIFTPM_TEST_PREFIX := $(CURDIR)/$(BUILD)/test-prefix-swiftpm
SHIPPED_TEST_PREFIX := $(CURDIR)/$(BUILD)/test-prefix-shipped
test-same-bits: library library-swiftpm
	rm -rf $(SWIFTPM_TEST_PREFIX) $(SHIPPED_TEST_PREFIX)
	$(MAKE) --no-print-directory install-swiftpm PREFIX=$(SWIFTPM_TEST_PREFIX)
	$(MAKE) --no-print-directory install PREFIX=$(SHIPPED_TEST_PREFIX)
	CC=$(CC) Tests/embedded/compare.sh $(SWIFTPM_TEST_PREFIX) $(SHIPPED_TEST_PREFIX)

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

# The ways to install (docs/install.md), each tested as a user would use it: one version
# everywhere, the CMake package, the .deb, the source tarball, the wheel with no Swift
# and no system OpenBLAS in sight (Tests/install/run.sh).
test-install: library | bootstrap-test
	@scripts/bootstrap.sh wheel
	PYTHON=$(PYTHON) CC=$(CC) Tests/install/run.sh

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

valgrind: library examples | bootstrap-test
	VALGRIND_UNSTRIPPED=$(UNSTRIPPED) Tests/hardening/valgrind.sh

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
	rm -rf $(BUILD) $(DIST) .build .build-fuzz .build-fuzz-api .build-asan .build-tsan \
	    bindings/python/build bindings/python/swiftmlp.egg-info
