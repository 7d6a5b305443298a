# asyncwait -- see README.md. Variables a user may override: CC, CFLAGS,
# LDFLAGS, PREFIX, DESTDIR, SAN (address|thread: sanitizer build).
CC      ?= cc
PREFIX  ?= /usr/local
DESTDIR ?=
SAN     ?=
CFLAGS  ?= -O2 -g

# Our warnings stay separate so a user's CFLAGS adds to them.
WARN    = -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
DEFS    = -D_GNU_SOURCE
INCS    = -Ilib -Iadapters
SQLITE_LIBS = -lsqlite3

ifeq ($(SAN),address)
  SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
  BUILD ?= build/asan
else ifeq ($(SAN),thread)
  SANFLAGS = -fsanitize=thread -fno-omit-frame-pointer
  BUILD ?= build/tsan
else ifeq ($(SAN),)
  SANFLAGS =
  BUILD ?= build
else
  $(error SAN must be address, thread or empty)
endif

ALL_CFLAGS  = $(WARN) $(DEFS) $(INCS) $(CFLAGS) $(SANFLAGS)
ALL_LDFLAGS = $(LDFLAGS) $(SANFLAGS)
LIBS        = $(SQLITE_LIBS) -lpthread -lm

LIB_SRC  = $(wildcard lib/*.c) $(wildcard adapters/*.c) $(wildcard adapters/sqlite/*.c)
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
LIB      = $(BUILD)/libasyncwait.a
TEST_SRC = $(wildcard tests/*.c)
TEST_OBJ = $(TEST_SRC:%.c=$(BUILD)/obj/%.o)
TEST_BIN = $(BUILD)/tests/run_tests
EXAMPLES = $(BUILD)/examples/bench_core $(BUILD)/examples/minimal $(BUILD)/examples/throughput
PC       = $(BUILD)/asyncwait.pc
HEADERS  = lib/asyncwait.h $(wildcard lib/pool.h lib/lookup.h adapters/adapter.h)
ADAPTER_HEADERS = $(wildcard adapters/sqlite/*.h)
VERSION  = $(shell sed -n 's/^\#define AW_VERSION_STRING "\(.*\)"/\1/p' lib/asyncwait.h)

SHELL = /bin/bash
.PHONY: deps all test test-asan test-tsan test-all bench demo install uninstall clean examples

all: $(LIB) $(PC) examples

examples: $(EXAMPLES)

$(BUILD)/obj/%.o: %.c $(HEADERS) $(ADAPTER_HEADERS) $(wildcard lib/*_int.h adapters/*_int.h tests/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/examples/%: $(BUILD)/obj/examples/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $< $(LIB) $(LIBS) -o $@

$(TEST_BIN): $(TEST_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $(TEST_OBJ) $(LIB) -lcunit $(LIBS) -o $@

$(PC): lib/asyncwait.h
	@mkdir -p $(dir $@)
	printf 'prefix=%s\nlibdir=$${prefix}/lib\nincludedir=$${prefix}/include\n\nName: asyncwait\nDescription: Flink-style async I/O operator for C\nVersion: %s\nCflags: -I$${includedir}/asyncwait\nLibs: -L$${libdir} -lasyncwait\nLibs.private: %s -lpthread -lm\n' \
	    '$(PREFIX)' '$(VERSION)' '$(SQLITE_LIBS)' > $@

deps:
	scripts/deps.sh build

# The README's test command: installs missing packages, builds, runs every
# suite. TESTS=suite[,suite] runs a subset.
test: deps
	$(MAKE) $(TEST_BIN)
	$(TEST_BIN) $(TESTS)
ifneq ($(wildcard tools/aw-enrich/main.c),)
	$(if $(TESTS),,$(MAKE) test-enrich)
endif

test-asan:
	$(MAKE) test SAN=address
test-tsan:
	$(MAKE) test SAN=thread
test-all: test test-asan test-tsan

bench: $(BUILD)/examples/bench_core
	$(BUILD)/examples/bench_core $(BENCH_ARGS)

install: $(LIB) $(PC)
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/asyncwait $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 $(LIB) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 $(HEADERS) $(DESTDIR)$(PREFIX)/include/asyncwait/
	install -d $(DESTDIR)$(PREFIX)/include/asyncwait/sqlite
	install -m 644 $(ADAPTER_HEADERS) $(DESTDIR)$(PREFIX)/include/asyncwait/sqlite/
	install -m 644 $(PC) $(DESTDIR)$(PREFIX)/lib/pkgconfig/

uninstall:
	rm -rf $(DESTDIR)$(PREFIX)/include/asyncwait
	rm -f $(DESTDIR)$(PREFIX)/lib/libasyncwait.a $(DESTDIR)$(PREFIX)/lib/pkgconfig/asyncwait.pc

clean:
	rm -rf build
.SECONDARY:

# The README's demo command: SQLite, no server. DEMO_ARGS=--quick for a
# shorter run.
demo:
	scripts/deps.sh build demo
	$(MAKE) $(BUILD)/examples/throughput
	$(BUILD)/examples/throughput $(DEMO_ARGS)

# ----------------------------------------------------------------- tools
# aw-enrich: the command-line filter (tools/aw-enrich, docs/aw-enrich.md).
ENRICH_SRC = $(wildcard tools/aw-enrich/*.c)
ENRICH_OBJ = $(ENRICH_SRC:%.c=$(BUILD)/obj/%.o)
ENRICH_BIN = $(BUILD)/bin/aw-enrich
ENRICH_LIBS = -lcsv -ljansson
TOOLS = $(ENRICH_BIN)

.PHONY: tools install-tools uninstall-tools test-enrich
# aw-enrich needs the lookup interface and the adapter registry (issue 4).
ifneq ($(wildcard tools/aw-enrich/main.c),)
all: tools
install: install-tools
endif
uninstall: uninstall-tools

tools: $(TOOLS)

$(ENRICH_OBJ): $(wildcard tools/aw-enrich/*.h)

$(ENRICH_BIN): $(ENRICH_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $(ENRICH_OBJ) $(LIB) $(ENRICH_LIBS) $(LIBS) -o $@

install-tools: $(TOOLS)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(TOOLS) $(DESTDIR)$(PREFIX)/bin/

uninstall-tools:
	rm -f $(DESTDIR)$(PREFIX)/bin/aw-enrich

# Shell-driven: aw-enrich against a SQLite file the script builds, checked
# against the sqlite3 CLI. Ends with "N passed, N failed".
test-enrich: $(ENRICH_BIN)
	tests/test_aw_enrich.sh $(ENRICH_BIN)
