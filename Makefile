# detour: plain GNU make, dependencies through pkg-config.
#
#   make               build/detour (optimised, with debug info)
#   make run           install missing packages (as root), build, serve examples/ on 127.0.0.1:8080
#   make test          install missing packages, the layering check, then unit + integration
#                      suites under ASan+UBSan
#   make layers        scripts/layers.py: the include graph has no cycle and points down
#   make tsan          build/tsan/detour under ThreadSanitizer, and the integration files that
#                      drive its threads (reload, admin, maintenance, health, server) against it;
#                      fails on any report. Not part of `make test` (its own build, and a minute more).
#   make fuzz-smoke    build the libFuzzer targets with clang and run each briefly
#   make bench         bench/run.sh: detour, nginx and the floor server side by side
#   make format        clang-format every C file in place
#   make man           the man pages (scdoc) into $(BUILD)/man
#   make man-sync      rewrite the generated parts of docs/man/*.scd (option and directive
#                      tables, `detour help --man`); `make test` fails when they differ
#   make install       binary, man pages, systemd unit, logrotate snippet (PREFIX, DESTDIR)

BUILD    ?= build
CC       ?= cc
PKGS     := libpcre2-8 libhs libcurl jansson sqlite3 libssl libcrypto libnghttp2 hiredis gumbo \
            libxml-2.0 zlib libpsl libidn2 tomlplusplus
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# libcurl and libxml2 are not linked: lib/dlcurl.c opens them on their first
# call (their headers are used as usual).
PKG_LIBS   := $(filter-out -lcurl -lxml2,$(shell pkg-config --libs $(PKGS) 2>/dev/null))

OPT      ?= -O2
CFLAGS   ?= $(OPT) -g
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
BASEFLAGS := -std=gnu11 -D_GNU_SOURCE -Iinclude -Ilib -pthread -MMD -MP $(WARN) $(PKG_CFLAGS)
ifeq ($(SAN),1)
BASEFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDSAN     := -fsanitize=address,undefined
CXXSAN    := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
endif
ifeq ($(SAN),thread)
BASEFLAGS += -fsanitize=thread
LDSAN     := -fsanitize=thread
CXXSAN    := -fsanitize=thread
endif
ALL_CFLAGS = $(BASEFLAGS) $(CFLAGS)
LDLIBS   := $(PKG_LIBS) -pthread -lm -lstdc++
CXX      ?= c++
ALL_CXXFLAGS = -std=c++17 -Iinclude -Ilib -MMD -MP -Wall -Wextra -Werror $(PKG_CFLAGS) $(CFLAGS) $(CXXSAN)

LIB_SRC    := $(sort $(wildcard lib/*.c lib/base/*.c))
# The one C++ file: netlify.toml read with toml++ (Debian has no C TOML
# library), compiled with $(CXX) into libdetour.a; C programs link -lstdc++.
LIB_CXX_SRC := $(sort $(wildcard lib/*.cc))
SERVER_SRC := $(sort $(wildcard src/server/*.c))
CLI_SRC    := $(sort $(wildcard src/cli/*.c))
UNIT_SRC   := $(sort $(wildcard tests/unit/test_*.c))

LIB_OBJ    := $(LIB_SRC:%.c=$(BUILD)/%.o) $(LIB_CXX_SRC:%.cc=$(BUILD)/%.o)
BIN_OBJ    := $(SERVER_SRC:%.c=$(BUILD)/%.o) $(CLI_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

PYTEST     := /usr/bin/python3 -m pytest
NPROC      := $(shell nproc 2>/dev/null || echo 2)

.PHONY: all run test deps unit unit-build replay-build integration asan tsan fuzz fuzz-smoke bench format clean install valgrind man man-sync layers

all: $(BUILD)/detour

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/%.o: %.cc
	@mkdir -p $(dir $@)
	$(CXX) $(ALL_CXXFLAGS) -c $< -o $@

$(BUILD)/libdetour.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/detour: $(BIN_OBJ) $(BUILD)/libdetour.a
	$(CC) $(LDSAN) -o $@ $(BIN_OBJ) $(BUILD)/libdetour.a $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libdetour.a tests/unit/unit.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libdetour.a $(LDLIBS) -lcmocka $(LDSAN)

# Unit tests of src/server modules (no sockets, no threads): the usual
# rule, plus the server objects in SERVER_TEST_OBJ and src/server on the
# include path. Add a test to SERVER_TEST, and an object it needs to
# SERVER_TEST_OBJ.
SERVER_TEST     := test_route test_maint test_tls test_acme_http01 test_budget test_reloader \
                   test_state_totals
SERVER_TEST_OBJ := $(addprefix $(BUILD)/src/server/,maint.o publish.o log.o tls.o acme_http01.o budget.o \
                   reloader.o state.o state_totals.o stats.o)
SERVER_TEST_BIN := $(SERVER_TEST:%=$(BUILD)/tests/%)

$(SERVER_TEST_BIN): $(BUILD)/tests/%: tests/unit/%.c $(SERVER_TEST_OBJ) $(BUILD)/libdetour.a tests/unit/unit.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -Isrc/server -o $@ $< $(SERVER_TEST_OBJ) $(BUILD)/libdetour.a $(LDLIBS) -lcmocka $(LDSAN)

unit-build: $(UNIT_BIN)

# Regression inputs (fuzz/regression/NAME/, crashes the fuzzers found once):
# the target of each such folder is also built as a plain program over this
# build (fuzz/replay.c calls LLVMFuzzerTestOneInput on each file), so that
# `make test` replays them under ASan+UBSan without a libFuzzer build.
REPLAY_NAMES := $(notdir $(wildcard fuzz/regression/*))
REPLAY_BIN   := $(REPLAY_NAMES:%=$(BUILD)/replay/fuzz_%)

$(BUILD)/replay/fuzz_%: fuzz/fuzz_%.c fuzz/replay.c $(BUILD)/libdetour.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -o $@ $< fuzz/replay.c $(BUILD)/libdetour.a $(LDLIBS) $(LDSAN)

# The targets that drive src/server code (fuzz/fuzz_server.c: a connection
# through the worker; fuzz/fuzz_admin.c: the admin API) link the server's
# objects too.
FUZZ_SERVER_NAMES := server admin
# fuzz_admin keeps one SQLite state for the whole run, emptied between inputs
# (fuzz/fuzz_admin.c: opening one costs more than an input).
FUZZ_LDFLAGS_admin := -Wl,--wrap=state_open,--wrap=state_close
FUZZ_SERVER_SRC := $(filter-out src/server/serve.c,$(SERVER_SRC)) # serve.c: the CLI command
SERVER_OBJ := $(FUZZ_SERVER_SRC:%.c=$(BUILD)/%.o)

$(FUZZ_SERVER_NAMES:%=$(BUILD)/replay/fuzz_%): $(BUILD)/replay/fuzz_%: fuzz/fuzz_%.c fuzz/replay.c $(SERVER_OBJ) $(BUILD)/libdetour.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Isrc/server -Wno-missing-prototypes -o $@ $< fuzz/replay.c $(SERVER_OBJ) $(BUILD)/libdetour.a $(LDLIBS) $(LDSAN) $(FUZZ_LDFLAGS_$(*:fuzz_%=%))

replay-build: $(REPLAY_BIN)

deps:
	@sh scripts/deps.sh

run: deps
	@$(MAKE) --no-print-directory -j$(NPROC) all
	./$(BUILD)/detour serve -c examples/detour.conf

# The sanitizer build lives in build/asan; `make test` runs everything there.
asan:
	@$(MAKE) --no-print-directory -j$(NPROC) BUILD=build/asan SAN=1 OPT=-O1 build/asan/detour unit-build replay-build

# ThreadSanitizer (docs/internals/server.md, "Races"): the server built in build/tsan, and the
# integration files whose servers run workers, the admin thread, reloads, maintenance changes and
# the health prober side by side. A report ends the server with status 66 (the test that started
# it fails) and is written to build/tsan/reports/, which must stay empty: whatever a test makes of
# the exit status, a report fails the target and is printed. test_hostile.py is left out: its
# RSS bounds measure the server, and ThreadSanitizer's shadow memory is not the server's.
TSAN_TESTS   := test_reload.py test_admin.py test_admin_guard.py test_maintenance.py test_health.py \
                test_server.py test_tls.py test_acme.py test_proxy.py test_fleet.py test_h2.py \
                test_stats.py test_faults.py test_reload_thread.py test_audit_keep.py
TSAN_REPORTS := build/tsan/reports
TSAN_TESTS   += test_fleet_tls.py
tsan:
	@$(MAKE) --no-print-directory -j$(NPROC) BUILD=build/tsan SAN=thread OPT=-O1 build/tsan/detour
	@rm -rf $(TSAN_REPORTS) && mkdir -p $(TSAN_REPORTS)
	@TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 log_path=$(CURDIR)/$(TSAN_REPORTS)/tsan" \
	 DETOUR_BIN=$(CURDIR)/build/tsan/detour $(PYTEST) -q -p no:cacheprovider \
	 $(addprefix tests/integration/,$(TSAN_TESTS)); rc=$$?; \
	 if [ -n "$$(ls -A $(TSAN_REPORTS))" ]; then cat $(TSAN_REPORTS)/*; \
	 echo "make tsan: FAILED: ThreadSanitizer reports above (in $(TSAN_REPORTS))" >&2; exit 1; fi; \
	 [ $$rc -eq 0 ] || echo "make tsan: FAILED: the tests failed (status $$rc)" >&2; exit $$rc

unit: asan
	@sh tests/run-unit.sh build/asan/tests

integration: asan
	DETOUR_BIN=$(CURDIR)/build/asan/detour $(PYTEST) -q tests/integration

# The layering check (docs/internals/README.md): include cycles between modules, lib/ including
# src/, src/cli including src/server.
layers:
	@/usr/bin/python3 scripts/layers.py

test: deps
	@/usr/bin/python3 scripts/layers.py
	@$(MAKE) --no-print-directory asan
	@sh tests/run-unit.sh build/asan/tests
	@/usr/bin/python3 scripts/mansync.py --check build/asan/detour
	@for d in fuzz/regression/*/; do n=$$(basename $$d); \
	 build/asan/replay/fuzz_$$n $$d* || { echo "make test: fuzz/regression/$$n fails" >&2; exit 1; }; done
	@DETOUR_BIN=$(CURDIR)/build/asan/detour $(PYTEST) -q -p no:cacheprovider tests/integration

valgrind: all unit-build
	@for t in $(UNIT_BIN); do valgrind -q --error-exitcode=1 --suppressions=tests/valgrind.supp --leak-check=full --errors-for-leak-kinds=definite --trace-children=yes $$t || exit 1; done

FUZZ_SRC := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_SRC:fuzz/%.c=build/fuzz/%)
FUZZ_CFLAGS := -std=gnu11 -D_GNU_SOURCE -Iinclude -Ilib -g -O1 -fsanitize=fuzzer,address,undefined $(PKG_CFLAGS)

# The library (and the server, for the targets that drive it) is compiled
# once for every target, instrumented without libFuzzer's main
# (-fsanitize=fuzzer-no-link), into archives each target links.
comma := ,
FUZZ_OBJ_CFLAGS := $(subst -fsanitize=fuzzer$(comma),-fsanitize=fuzzer-no-link$(comma),$(FUZZ_CFLAGS)) -Isrc/server -MMD -MP
build/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_OBJ_CFLAGS) -c $< -o $@

# The C++ TOML reader (lib/import_toml.cc): the vptr check needs the C++
# UBSan runtime, which a clang link does not bring.
FUZZ_CXX_OBJ := $(LIB_CXX_SRC:%.cc=build/fuzz/obj/%.o)
build/fuzz/obj/%.o: %.cc
	@mkdir -p $(dir $@)
	clang++ -std=c++17 -Iinclude -Ilib -g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize=vptr $(PKG_CFLAGS) -c $< -o $@

build/fuzz/libdetour.a: $(LIB_SRC:%.c=build/fuzz/obj/%.o) $(FUZZ_CXX_OBJ)
	rm -f $@ && ar rcs $@ $^

build/fuzz/libserver.a: $(FUZZ_SERVER_SRC:%.c=build/fuzz/obj/%.o)
	rm -f $@ && ar rcs $@ $^

build/fuzz/%: fuzz/%.c build/fuzz/libdetour.a
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -o $@ $< build/fuzz/libdetour.a $(LDLIBS)

$(FUZZ_SERVER_NAMES:%=build/fuzz/fuzz_%): build/fuzz/%: fuzz/%.c fuzz/sockfeed.h build/fuzz/libserver.a build/fuzz/libdetour.a
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -Isrc/server -o $@ $< build/fuzz/libserver.a build/fuzz/libdetour.a $(LDLIBS) $(FUZZ_LDFLAGS_$(*:fuzz_%=%))

fuzz: $(FUZZ_BIN)

fuzz-smoke: deps fuzz
	@sh fuzz/smoke.sh $(FUZZ_BIN)

bench: all
	sh bench/run.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

# Man pages from scdoc sources (Debian package scdoc).
MAN_SRC := $(wildcard docs/man/*.scd)
MAN_OUT := $(MAN_SRC:docs/man/%.scd=$(BUILD)/man/%)

$(BUILD)/man/%: docs/man/%.scd
	@mkdir -p $(dir $@)
	scdoc < $< > $@

man: $(MAN_OUT)

# The man pages' option sections, the directives of detour.conf(5) and the
# options of detour-rules(5) come from the parsers' own tables
# (scripts/mansync.py, src/cli/man.h).
man-sync: all
	/usr/bin/python3 scripts/mansync.py $(BUILD)/detour

PREFIX  ?= /usr/local
SYSCONFDIR ?= /etc
install: all man
	install -D -m 0755 $(BUILD)/detour $(DESTDIR)$(PREFIX)/bin/detour
	install -D -m 0644 $(BUILD)/man/detour.1 $(DESTDIR)$(PREFIX)/share/man/man1/detour.1
	install -D -m 0644 $(BUILD)/man/detour.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/detour.conf.5
	install -D -m 0644 $(BUILD)/man/detour-rules.5 $(DESTDIR)$(PREFIX)/share/man/man5/detour-rules.5
	@mkdir -p $(DESTDIR)$(PREFIX)/lib/systemd/system
	sed 's|/usr/local/bin/detour|$(PREFIX)/bin/detour|g' examples/detour.service \
		> $(DESTDIR)$(PREFIX)/lib/systemd/system/detour.service
	install -D -m 0644 examples/detour.logrotate $(DESTDIR)$(SYSCONFDIR)/logrotate.d/detour
	@# A sample configuration and rules file, never over an existing one.
	@mkdir -p $(DESTDIR)$(SYSCONFDIR)/detour
	@[ -e $(DESTDIR)$(SYSCONFDIR)/detour/detour.conf ] || \
		install -m 0644 examples/detour.production.conf $(DESTDIR)$(SYSCONFDIR)/detour/detour.conf
	@[ -e $(DESTDIR)$(SYSCONFDIR)/detour/site.rules ] || \
		install -m 0644 examples/site.rules $(DESTDIR)$(SYSCONFDIR)/detour/site.rules

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
