# asyncwait -- see README.md. Variables a user may override: CC, CFLAGS,
# LDFLAGS, PKG_CONFIG, PREFIX, DESTDIR, SAN (address|thread: sanitizer build).
#
# The build follows its configuration: the compiler, every flag, the
# libraries and the optional adapters found are written to
# $(BUILD)/config.stamp, rewritten only when that text changes, and every
# object, the archive and every program depend on it. So installing a client
# library, changing CFLAGS or SAN, or hiding a library never needs
# `make clean`. Header dependencies come from the compiler (-MMD).
CC         ?= cc
PKG_CONFIG ?= pkg-config
PREFIX     ?= /usr/local
DESTDIR    ?=
SAN        ?=
CFLAGS     ?= -O2 -g

# Our warnings stay separate so a user's CFLAGS adds to them.
WARN    = -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
DEFS    = -D_GNU_SOURCE
INCS    = -Ilib -Iadapters
SQLITE_LIBS = -lsqlite3
PC_PRIVATE  = $(SQLITE_LIBS)
LIBS        = $(SQLITE_LIBS)

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

LIB_SRC  = $(wildcard lib/*.c) $(wildcard adapters/*.c) $(wildcard adapters/sqlite/*.c)
ADAPTER_DIRS = sqlite

# Optional adapters, folder=pkg-config module: each is built (its folder's
# .c files, -DAW_HAVE_<FOLDER>, its client's flags) when its client library
# is installed. HAVE lists the ones found; <FOLDER>_OK is yes for each.
OPT_ADAPTERS = mysql=libmariadb postgres=libpq redis=hiredis
define opt_adapter
ifeq ($$(shell $$(PKG_CONFIG) --exists $(2) 2>/dev/null && echo yes),yes)
  HAVE         += $(1)
  $(3)_OK      := yes
  ADAPTER_DIRS += $(1)
  LIB_SRC      += $$(wildcard adapters/$(1)/*.c)
  DEFS         += -DAW_HAVE_$(3)
  INCS         += $$(shell $$(PKG_CONFIG) --cflags $(2))
  LIBS         += $$(shell $$(PKG_CONFIG) --libs $(2))
  PC_PRIVATE   += $$(shell $$(PKG_CONFIG) --libs $(2))
endif
endef
$(foreach a,$(OPT_ADAPTERS),$(eval $(call opt_adapter,$(firstword $(subst =, ,$(a))),$(lastword $(subst =, ,$(a))),$(shell echo $(firstword $(subst =, ,$(a))) | tr a-z A-Z))))

LIBS       += -lpthread -lm
# Programs built only with an optional adapter.
MYSQL_EXAMPLES = $(if $(MYSQL_OK),$(patsubst examples/%.c,$(BUILD)/examples/%,\
                   $(wildcard examples/delay_proxy.c examples/throughput_mysql.c)))
PG_EXAMPLES = $(if $(POSTGRES_OK),$(patsubst examples/%.c,$(BUILD)/examples/%,\
                   $(wildcard examples/delay_proxy.c examples/throughput_pg.c)))
REDIS_EXAMPLES = $(if $(REDIS_OK),$(patsubst examples/%.c,$(BUILD)/examples/%,\
                   $(wildcard examples/delay_proxy.c examples/throughput_redis.c)))
ALL_CFLAGS  = $(WARN) $(DEFS) $(INCS) $(CFLAGS) $(SANFLAGS)
ALL_LDFLAGS = $(LDFLAGS) $(SANFLAGS)

# The configuration stamp (see the top). $(file) keeps it byte-exact.
CONFIG      = $(BUILD)/config.stamp
CONFIG_TEXT = cc=$(CC) $(shell $(CC) -dumpfullversion 2>/dev/null) cflags=$(ALL_CFLAGS) ldflags=$(ALL_LDFLAGS) libs=$(LIBS) adapters=$(HAVE)
ifneq ($(file <$(CONFIG)),$(CONFIG_TEXT))
  $(shell mkdir -p $(BUILD))
  $(file >$(CONFIG),$(CONFIG_TEXT))
endif
# The .pc names the prefix it is installed under: its own stamp, so that
# `make install PREFIX=...` regenerates it without rebuilding anything else.
PC_STAMP    = $(BUILD)/pc.stamp
PC_TEXT     = prefix=$(PREFIX) private=$(PC_PRIVATE)
ifneq ($(file <$(PC_STAMP)),$(PC_TEXT))
  $(shell mkdir -p $(BUILD))
  $(file >$(PC_STAMP),$(PC_TEXT))
endif

LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
LIB      = $(BUILD)/libasyncwait.a
TEST_SRC = $(wildcard tests/*.c)
TEST_OBJ = $(TEST_SRC:%.c=$(BUILD)/obj/%.o)
TEST_BIN = $(BUILD)/tests/run_tests
EXAMPLES = $(BUILD)/examples/bench_core $(BUILD)/examples/minimal $(BUILD)/examples/throughput \
           $(BUILD)/examples/enrich $(BUILD)/examples/ckpt_bench $(BUILD)/examples/lookup \
           $(BUILD)/examples/bench_straggler $(BUILD)/examples/bench_cache
PC       = $(BUILD)/asyncwait.pc
HEADERS  = lib/asyncwait.h $(wildcard lib/pool.h lib/lookup.h lib/checkpoint.h lib/loop.h adapters/adapter.h)
VERSION  = $(shell sed -n 's/^\#define AW_VERSION_STRING "\(.*\)"/\1/p' lib/asyncwait.h)
SHELL = /bin/bash
.PHONY: deps all test test-asan test-tsan test-all bench demo install uninstall clean examples \
        test-install test-fresh-build

all: $(LIB) $(PC) examples

examples: $(EXAMPLES)

$(BUILD)/obj/%.o: %.c $(CONFIG)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

# Every object a build of this tree has made records its headers here.
-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# Made anew from the objects of this configuration only.
$(LIB): $(LIB_OBJ) $(CONFIG)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $(LIB_OBJ)

# A static pattern rule: the example objects are named targets, not
# intermediates, so a missing one is rebuilt.
ALL_EXAMPLES = $(sort $(EXAMPLES) $(MYSQL_EXAMPLES) $(PG_EXAMPLES) $(REDIS_EXAMPLES))
$(ALL_EXAMPLES): $(BUILD)/examples/%: $(BUILD)/obj/examples/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $(filter %.o,$^) $(LIB) $(LIBS) -o $@

# The store demos share their harness (examples/demo_common.h); every
# example shares examples/common.h (header-only).
DEMO_COMMON = $(BUILD)/obj/examples/demo_common.o
$(BUILD)/examples/throughput_mysql $(BUILD)/examples/throughput_pg $(BUILD)/examples/throughput_redis: $(DEMO_COMMON)

$(TEST_BIN): $(TEST_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $(TEST_OBJ) $(LIB) -lcunit $(LIBS) -o $@

$(PC): lib/asyncwait.h $(PC_STAMP)
	@mkdir -p $(dir $@)
	printf 'prefix=%s\nlibdir=$${prefix}/lib\nincludedir=$${prefix}/include\n\nName: asyncwait\nDescription: Flink-style async I/O operator for C\nVersion: %s\nCflags: -I$${includedir}/asyncwait\nLibs: -L$${libdir} -lasyncwait\nLibs.private: %s -lpthread -lm\n' \
	    '$(PREFIX)' '$(VERSION)' '$(PC_PRIVATE)' > $@

deps:
	scripts/deps.sh build mysql postgres redis

# The README's test command: installs missing packages, builds, runs every
# suite. TESTS=suite[,suite] runs a subset. A sub-make runs the suites
# because what is installed (libmariadb-dev) decides what is built, and
# this make read the Makefile before deps installed it.
test: deps
	$(MAKE) test-run

# The suites; the mysql suite (and a full run) inside tests/mariadb.sh run,
# which starts a throwaway MariaDB, loads MYSQL_ROWS rows, exports
# AW_MYSQL_* and stops the server by pid however the run ends.
MYSQL_ROWS ?= 100000
NEED_SERVER = $(if $(TESTS),$(findstring mysql,$(TESTS)),all)
WITH_SERVER = $(if $(NEED_SERVER),tests/mariadb.sh run -n $(MYSQL_ROWS))
# The postgres suites likewise inside tests/postgres.sh run (AW_PG_*).
PG_ROWS ?= 100000
NEED_PG = $(if $(TESTS),$(findstring postgres,$(TESTS)),all)
WITH_PG = $(if $(NEED_PG),$(if $(POSTGRES_OK),tests/postgres.sh run -n $(PG_ROWS)))
# Likewise the redis suite inside tests/redis.sh run (AW_REDIS_*).
REDIS_ROWS ?= 100000
NEED_REDIS  = $(if $(TESTS),$(findstring redis,$(TESTS)),all)
WITH_REDIS  = $(if $(NEED_REDIS),$(if $(REDIS_OK),tests/redis.sh run -n $(REDIS_ROWS)))
test-run: $(TEST_BIN)
	$(WITH_SERVER) $(WITH_PG) $(WITH_REDIS) $(TEST_BIN) $(TESTS)
ifneq ($(wildcard tools/aw-enrich/main.c),)
	$(if $(TESTS),,$(MAKE) test-enrich)
	$(if $(TESTS),,$(if $(filter yes,$(MYSQL_OK)),$(MAKE) test-enrich-mysql))
	$(if $(TESTS),,$(if $(filter yes,$(POSTGRES_OK)),$(MAKE) test-enrich-pg))
	$(if $(TESTS),,$(if $(filter yes,$(REDIS_OK)),$(MAKE) test-enrich-redis))
	$(if $(TESTS),,$(if $(filter yes,$(REDIS_OK)),$(MAKE) test-enrich-stream))
endif
	$(if $(TESTS),,$(MAKE) test-crash)
	$(if $(TESTS)$(SAN),,$(MAKE) test-install)

# make install / uninstall into temp prefixes, programs built against the
# installed .pc (tests/install_test.sh). Plain builds only: a sanitizer
# archive needs its runtime, which the .pc does not name.
test-install: all
	tests/install_test.sh

# The README's commands on a fresh clone in every order, no make clean
# between (tests/fresh_build.sh; .ci/run runs it). Needs the packages of
# scripts/deps.sh build demo mysql installed.
test-fresh-build:
	tests/fresh_build.sh $(FRESH_ARGS)

test-asan:
	$(MAKE) test SAN=address
test-tsan:
	$(MAKE) test SAN=thread
test-all: test test-asan test-tsan

# The core benchmark, then issue 15's two (docs/keyed.md): the straggler
# workload (ordered / keyed / unordered) and the lookup cache on Zipf keys.
bench: $(BUILD)/examples/bench_core $(BUILD)/examples/bench_straggler $(BUILD)/examples/bench_cache
	$(BUILD)/examples/bench_core $(BENCH_ARGS)
	$(BUILD)/examples/bench_straggler $(BENCH_ARGS)
	$(BUILD)/examples/bench_cache $(BENCH_ARGS)

# Installs the archive, the core headers, each built adapter's header in a
# folder of its own (include/asyncwait/sqlite/sqlite.h, .../mysql/mysql.h)
# and asyncwait.pc naming PREFIX (never DESTDIR) and exactly the client
# libraries this archive needs.
install: $(LIB) $(PC)
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include/asyncwait
	install -m 644 $(LIB) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 $(HEADERS) $(DESTDIR)$(PREFIX)/include/asyncwait/
	for d in $(ADAPTER_DIRS); do \
	    install -d $(DESTDIR)$(PREFIX)/include/asyncwait/$$d && \
	    install -m 644 adapters/$$d/$$d.h $(DESTDIR)$(PREFIX)/include/asyncwait/$$d/ || exit 1; \
	done
	install -m 644 $(PC) $(DESTDIR)$(PREFIX)/lib/pkgconfig/

# Removes every file an install of this tree can put under PREFIX (any
# adapter set), then the folders it made, where they are left empty.
uninstall:
	rm -f $(DESTDIR)$(PREFIX)/lib/libasyncwait.a $(DESTDIR)$(PREFIX)/lib/pkgconfig/asyncwait.pc
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/include/asyncwait/,$(notdir $(HEADERS)))
	for d in $(patsubst adapters/%/,%,$(wildcard adapters/*/)); do \
	    rm -f $(DESTDIR)$(PREFIX)/include/asyncwait/$$d/$$d.h; \
	    rmdir $(DESTDIR)$(PREFIX)/include/asyncwait/$$d 2>/dev/null || true; \
	done
	-rmdir $(DESTDIR)$(PREFIX)/include/asyncwait 2>/dev/null
	-rmdir $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib \
	    $(DESTDIR)$(PREFIX)/bin 2>/dev/null

clean:
	rm -rf build

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

.PHONY: tools install-tools uninstall-tools test-enrich test-enrich-mysql test-enrich-pg
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

# aw-enrich on a throwaway MariaDB: the same bytes as on SQLite.
test-enrich-mysql: $(ENRICH_BIN)
	tests/mariadb.sh run -n 1000 tests/test_aw_enrich_mysql.sh $(ENRICH_BIN)

# aw-enrich on a throwaway PostgreSQL: the same bytes as on SQLite.
test-enrich-pg: $(ENRICH_BIN)
	tests/postgres.sh run -n 1000 tests/test_aw_enrich_pg.sh $(ENRICH_BIN)

# ------------------------------------------------------------ checkpoints
# make fuzz: the checkpoint decoder under libFuzzer (clang with
# libclang-rt-dev), FUZZ_SECONDS long, from the seed corpus in
# tests/fuzz/corpus; new inputs go to build/fuzz/corpus, crashes to
# build/fuzz/. make fuzz-corpus rewrites the seed corpus.
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_BINS     = build/fuzz/fuzz_checkpoint build/fuzz/fuzz_checkpoint_nocrc
.PHONY: fuzz fuzz-corpus test-crash

# Two targets: the decoder as shipped, and one that reads past wrong CRCs
# (FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION) to reach the code behind them.
build/fuzz/fuzz_checkpoint_nocrc: FUZZ_DEFS = -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
build/fuzz/%: tests/fuzz/fuzz_checkpoint.c tests/fuzz/blob_codec.h $(wildcard lib/*.c lib/*.h)
	@command -v $(FUZZ_CC) >/dev/null || { echo "make fuzz needs clang: apt-get install clang libclang-rt-14-dev" >&2; exit 1; }
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c11 $(DEFS) $(FUZZ_DEFS) -Ilib -g -O1 -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=all $(filter %.c,$^) -lpthread -lm -o $@

# Half the time each; fails on the first crash, leak or trap.
fuzz: $(FUZZ_BINS)
	@mkdir -p build/fuzz/corpus build/fuzz/corpus_nocrc
	cd build/fuzz && ./fuzz_checkpoint_nocrc -max_total_time=$$(( ($(FUZZ_SECONDS) + 1) / 2 )) \
	    -max_len=8192 -print_final_stats=1 corpus_nocrc ../../tests/fuzz/corpus
	cd build/fuzz && ./fuzz_checkpoint -max_total_time=$$(( $(FUZZ_SECONDS) / 2 )) \
	    -max_len=8192 -print_final_stats=1 corpus ../../tests/fuzz/corpus

fuzz-corpus: $(LIB)
	@mkdir -p $(BUILD)/tests tests/fuzz/corpus
	$(CC) $(ALL_CFLAGS) tests/fuzz/gen_corpus.c $(ALL_LDFLAGS) $(LIB) $(LIBS) -o $(BUILD)/tests/gen_corpus
	$(BUILD)/tests/gen_corpus tests/fuzz/corpus

# The exactly-once crash test (tests/crash_test.sh): examples/enrich on
# 200 000 orders, killed with SIGKILL at 20 random moments and restarted,
# then checked row by row; once ordered, once unordered (10 kills).
# CRASH_ARGS adds options (--seed S repeats a run).
test-crash: $(BUILD)/examples/enrich
	tests/crash_test.sh $(BUILD)/examples/enrich $(CRASH_ARGS)
	tests/crash_test.sh $(BUILD)/examples/enrich --unordered --kills 10 $(CRASH_ARGS)

# ------------------------------------------------------------------ MySQL
# The MySQL/MariaDB adapter (adapters/mysql) is built when libmariadb-dev is
# installed (scripts/deps.sh mysql); mysql:// then opens through the same
# aw_adapter_open. make test-mysql runs the mysql suite against a private,
# throwaway server (tests/mariadb.sh); make demo-mysql runs the comparison.
ifeq ($(MYSQL_OK),yes)
examples: $(MYSQL_EXAMPLES)
endif
.PHONY: test-mysql demo-mysql test-run

# Only the mysql suite, with its server.
test-mysql:
	scripts/deps.sh build mysql
	$(MAKE) test-run TESTS=mysql

# The comparison (examples/throughput_mysql.c): sync map vs pool vs native
# vs sysbench, RTT 0 / 0.5 / 2 ms through examples/delay_proxy, on 1 M rows.
# DEMO_MYSQL_ARGS=--quick for a shorter run.
DEMO_MYSQL_ROWS ?= 1000000
demo-mysql:
	scripts/deps.sh build demo mysql
	$(MAKE) $(BUILD)/examples/throughput_mysql $(BUILD)/examples/delay_proxy
	tests/mariadb.sh run -n $(DEMO_MYSQL_ROWS) $(BUILD)/examples/throughput_mysql \
	    --proxy $(BUILD)/examples/delay_proxy $(DEMO_MYSQL_ARGS)


# ------------------------------------------------------------- PostgreSQL
# The PostgreSQL adapter (adapters/postgres) is built when libpq-dev is
# installed (scripts/deps.sh postgres); postgres:// and postgresql:// then
# open through aw_adapter_open. make test runs its suites (postgres,
# postgres_fault) inside tests/postgres.sh run; make demo-pg runs the
# comparison (examples/throughput_pg.c): sync vs pool vs native pipelined
# vs pgbench, RTT 0 / 0.5 / 2 ms. DEMO_PG_ARGS=--quick for a shorter run.
ifeq ($(POSTGRES_OK),yes)
examples: $(PG_EXAMPLES)
endif
.PHONY: test-postgres demo-pg
DEMO_PG_ROWS ?= 1000000

test-postgres:
	scripts/deps.sh build postgres
	$(MAKE) test-run TESTS=postgres,postgres_fault

demo-pg:
	scripts/deps.sh build demo postgres
	$(MAKE) $(BUILD)/examples/throughput_pg $(BUILD)/examples/delay_proxy
	tests/postgres.sh run -n $(DEMO_PG_ROWS) $(BUILD)/examples/throughput_pg \
	    --proxy $(BUILD)/examples/delay_proxy $(DEMO_PG_ARGS)
# ------------------------------------------------------------------ Redis
# The Redis adapter (adapters/redis) is built when libhiredis-dev is
# installed (scripts/deps.sh redis); redis:// then opens through the same
# aw_adapter_open. make test-redis runs the redis suite against a private,
# throwaway server (tests/redis.sh); make demo-redis runs the comparison.
ifeq ($(REDIS_OK),yes)
examples: $(REDIS_EXAMPLES)
endif
.PHONY: test-redis demo-redis test-enrich-redis test-enrich-stream demo-scale

# Only the redis suite, with its server.
test-redis:
	scripts/deps.sh build redis
	$(MAKE) test-run TESTS=redis

# aw-enrich on a throwaway Redis: the same bytes as on SQLite.
test-enrich-redis: $(ENRICH_BIN)
	tests/redis.sh run -n 1000 tests/test_aw_enrich_redis.sh $(ENRICH_BIN)

# aw-enrich scaled out over a Redis Streams consumer group (issue 16,
# docs/scale-out.md): errors, kill -9 twice with 3 consumers on
# STREAM_RECORDS entries, slow-not-dead (SIGSTOP), CLIENT KILL; exactly
# once each time.
STREAM_RECORDS ?= 200000
test-enrich-stream: $(ENRICH_BIN)
	tests/redis.sh run -n 1 tests/test_aw_enrich_stream.sh $(ENRICH_BIN) --records $(STREAM_RECORDS)

# aw-enrich scaled out: 1, 2, 4 consumer processes over one stream, 1 ms
# lookups, capacity 64 (and 8) each; records/s, ratio, CPU, the sink
# script's own rate; build/demo-scale/{results.csv,scale.png}
# (scripts/demo_scale.sh, docs/scale-out.md). DEMO_SCALE_ARGS=--quick.
demo-scale:
	scripts/deps.sh build demo redis
	$(MAKE) $(ENRICH_BIN)
	tests/redis.sh run -n 1 scripts/demo_scale.sh $(ENRICH_BIN) $(DEMO_SCALE_ARGS)

# The comparison (examples/throughput_redis.c): sync vs pool vs native
# (pipeline 1, 16, 256) vs redis-benchmark, RTT 0 / 0.5 / 2 ms through
# examples/delay_proxy. DEMO_REDIS_ARGS=--quick for a shorter run.
DEMO_REDIS_ROWS ?= 200000
demo-redis:
	scripts/deps.sh build demo redis
	$(MAKE) $(BUILD)/examples/throughput_redis $(BUILD)/examples/delay_proxy
	tests/redis.sh run -n $(DEMO_REDIS_ROWS) $(BUILD)/examples/throughput_redis \
	    --proxy $(BUILD)/examples/delay_proxy $(DEMO_REDIS_ARGS)
