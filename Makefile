# moss: GNU Makefile.
#
#   make                 build lib/libmoss.a, lib/libmoss.so and bin/moss
#   make check           the Check suites, the arch self-test and the CLI tests
#   make check-all       everything CI runs: check, plus aarch64 under qemu,
#                        the portable switch, valgrind and ASan+UBSan
#   make bench           benchmarks, with references measured in the same run
#   make install         PREFIX=/usr/local DESTDIR=
#
# Variables:
#   ARCH=x86_64|aarch64|portable   context-switch implementation (default: host);
#                                  aarch64 on another host cross-builds and runs under qemu
#   SAN=address,undefined|thread   build and test with sanitizers
#   VALGRIND=1                     run the unit suites under memcheck
# Variant builds (ARCH other than the host's, or SAN) live under build/<variant>/.

VERSION   := 0.1.0
SOVERSION := 0

HOST_ARCH := $(shell uname -m)
ARCH      ?= $(HOST_ARCH)
SAN       ?=
VALGRIND  ?=
PREFIX    ?= /usr/local
DESTDIR   ?=

comma := ,
VARIANT := $(if $(filter-out $(HOST_ARCH),$(ARCH)),$(ARCH),native)$(if $(SAN),-san-$(subst $(comma),-,$(SAN)))
# BUILD=dir puts everything, objects and outputs, under dir, so that several
# builds can share one tree.
ifeq ($(origin BUILD),command line)
OUT     := $(BUILD)
else
BUILD   := build/$(VARIANT)
OUT     := $(if $(filter native,$(VARIANT)),.,$(BUILD))
endif
OBJ     := $(BUILD)/obj

ifeq ($(ARCH),aarch64)
ifneq ($(HOST_ARCH),aarch64)
CROSS   := aarch64-linux-gnu-
RUNNER  := qemu-aarch64
STATIC  := -static
endif
endif
CC      := $(CROSS)gcc
AR      := $(CROSS)ar
ARCH_SRC := $(if $(filter portable,$(ARCH)),arch/portable.c,arch/$(ARCH).S)

WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
ifeq ($(CI),true)
WARN     += -Werror
endif
OPT      ?= -O2 -g
CFLAGS   ?=
CPPFLAGS = -Iinclude -D_GNU_SOURCE $(INIH_CFLAGS) $(JANSSON_CFLAGS)
BASEFLAGS := -std=gnu11 $(OPT) $(WARN) -fPIC -pthread -fstack-clash-protection \
             -fno-omit-frame-pointer $(if $(SAN),-fsanitize=$(SAN) -fno-sanitize-recover=all)
ALLCFLAGS := $(BASEFLAGS) $(CFLAGS)
LDLIBS   := -pthread
LDFLAGS  ?=
ALLLDFLAGS := $(if $(SAN),-fsanitize=$(SAN)) $(LDFLAGS)

CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   := $(shell pkg-config --libs check 2>/dev/null)

# The greenlet core needs only libc; the hub layer above it needs libev,
# which a cross build does not have, so cross builds make the core alone.
CORE_SRC := $(addprefix runtime/,greenlet.c greenlet_attr.c overflow.c stack.c thread.c \
              trace.c version.c)
HUB_SRC  := $(filter-out $(CORE_SRC),$(wildcard runtime/*.c))
WORKER_SRC := $(wildcard worker/*.c config/*.c) $(filter-out master/main.c,$(wildcard master/*.c))
LIB_SRC  := $(CORE_SRC) $(if $(CROSS),,$(HUB_SRC) $(WORKER_SRC))
LIB_OBJ  := $(patsubst %.c,$(OBJ)/%.o,$(LIB_SRC)) \
            $(patsubst %,$(OBJ)/%.o,$(basename $(ARCH_SRC)))
# Debian's libev-dev and libhttp-parser-dev ship no pkg-config files.
EV_LIBS  := -lev
HTTP_PARSER_LIBS := -lhttp_parser
INIH_CFLAGS := $(if $(CROSS),,$(shell pkg-config --cflags inih 2>/dev/null))
INIH_LIBS := $(if $(CROSS),,$(shell pkg-config --libs inih 2>/dev/null))
JANSSON_CFLAGS := $(if $(CROSS),,$(shell pkg-config --cflags jansson 2>/dev/null))
JANSSON_LIBS := $(if $(CROSS),,$(shell pkg-config --libs jansson 2>/dev/null))
LIB_LIBS := $(if $(CROSS),,$(EV_LIBS) $(HTTP_PARSER_LIBS) $(INIH_LIBS) $(JANSSON_LIBS) -ldl) -pthread

EXAMPLES := $(patsubst examples/%.c,$(OUT)/examples/%,$(wildcard examples/*.c))

LIB_A   := $(OUT)/lib/libmoss.a
LIB_SO  := $(OUT)/lib/libmoss.so.$(VERSION)
MOSS    := $(OUT)/bin/moss

.PHONY: all check check-unit check-arch check-cli check-all bench install uninstall clean
all: $(LIB_A) $(LIB_SO) $(MOSS) $(if $(CROSS),,$(EXAMPLES))

$(OBJ)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALLCFLAGS) -MMD -MP -c $< -o $@

$(OBJ)/%.o: %.S
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALLCFLAGS) -c $< -o $@

$(LIB_A): $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

$(LIB_SO): $(LIB_OBJ) packaging/libmoss.map
	@mkdir -p $(@D)
	$(CC) -shared -Wl,-soname,libmoss.so.$(SOVERSION) -Wl,--version-script=packaging/libmoss.map \
	    $(ALLLDFLAGS) -o $@ $(LIB_OBJ) $(LIB_LIBS)
	ln -sf libmoss.so.$(VERSION) $(OUT)/lib/libmoss.so.$(SOVERSION)
	ln -sf libmoss.so.$(SOVERSION) $(OUT)/lib/libmoss.so

# Plugins (--app) resolve moss_* against the binary, and the watchdog names
# the functions of a blocked hub's backtrace with dladdr: export every
# symbol (-rdynamic) and link all of the library, whatever main.c calls.
$(MOSS): $(OBJ)/master/main.o $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(ALLLDFLAGS) $(STATIC) $(if $(CROSS),,-rdynamic) \
	    -o $@ $(OBJ)/master/main.o -Wl,--whole-archive $(LIB_A) -Wl,--no-whole-archive $(LIB_LIBS)

# ---- tests ------------------------------------------------------------------

CORE_CASES_SRC   := $(addprefix tests/runtime/,greenlet_cases.c stack_cases.c tables_core.c trail.c)
HUB_CASES_SRC    := $(filter-out $(CORE_CASES_SRC),$(wildcard tests/runtime/*.c)) \
                    $(wildcard tests/worker/*.c tests/master/*.c tests/integration/*.c)
CORE_CASES_OBJ   := $(patsubst %.c,$(OBJ)/%.o,$(CORE_CASES_SRC))
HUB_CASES_OBJ    := $(patsubst %.c,$(OBJ)/%.o,$(HUB_CASES_SRC))
TEST_ARCH_HELPER := tests/arch/regs_$(if $(filter portable,$(ARCH)),$(HOST_ARCH),$(ARCH)).S
TEST_HELPER_OBJ  := $(patsubst %,$(OBJ)/%.o,$(basename $(TEST_ARCH_HELPER)))
CHECK_RUNTIME    := $(BUILD)/tests/check_runtime
# Plugin apps for the plugin-loading tests: tests/plugins/NAME.c -> NAME.so
TEST_PLUGINS     := $(patsubst tests/plugins/%.c,$(BUILD)/tests/plugins/%.so,$(wildcard tests/plugins/*.c))

$(BUILD)/tests/plugins/%.so: tests/plugins/%.c include/moss.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALLCFLAGS) -shared -o $@ $<
SELFTEST         := $(BUILD)/tests/arch_selftest

$(OBJ)/tests/check/%.o: tests/check/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests $(CHECK_CFLAGS) $(ALLCFLAGS) -MMD -MP -c $< -o $@

$(OBJ)/tests/%.o: tests/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests $(ALLCFLAGS) -MMD -MP -c $< -o $@

$(CHECK_RUNTIME): $(OBJ)/tests/check/check_runtime.o $(CORE_CASES_OBJ) $(HUB_CASES_OBJ) \
                  $(TEST_HELPER_OBJ) $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(ALLLDFLAGS) -rdynamic -o $@ $^ $(CHECK_LIBS) $(LIB_LIBS)

$(SELFTEST): $(OBJ)/tests/arch/selftest.o $(CORE_CASES_OBJ) $(TEST_HELPER_OBJ) $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(ALLLDFLAGS) $(STATIC) -o $@ $^ $(LIB_LIBS)

# Children are checked too (forked cases, the moss binary, examples), except
# the third-party clients the tests drive. Fair scheduling: valgrind runs one
# thread at a time, and by default a spinning thread (a blocked hub) can keep
# its lock from the watchdog's monitor thread for seconds.
VALGRIND_CMD := valgrind --vgdb=no --fair-sched=yes --error-exitcode=3 --leak-check=full --show-leak-kinds=definite,indirect \
                --errors-for-leak-kinds=definite,indirect --trace-children=yes \
                --trace-children-skip='*/curl,*/wrk' -q

# The Check suites need libcheck for the target; a cross build runs the
# self-contained arch self-test only.
ifneq ($(findstring thread,$(SAN)),)
check: check-unit
else ifeq ($(CROSS),)
check: check-unit check-arch check-cli
else
check: check-arch
endif

# Under ThreadSanitizer only the watchdog's table runs (its threads are the
# point), in one process: TSan does not follow Check's forks, nor the other
# tables' servers.
TSAN_ENV := $(if $(findstring thread,$(SAN)),CK_RUN_CASE=watchdog CK_FORK=no \
            TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1")

# The portable (ucontext) switch changes only how greenlets switch: its
# build runs the tables of the runtime and of one worker, not every server.
PORTABLE_TABLES := greenlet,stack,hub,handoff,io,sync,threadpool,example,watchdog,http,stream
PORTABLE_ENV := $(if $(filter portable,$(ARCH)),MOSS_TEST_TABLES=$(PORTABLE_TABLES))

check-unit: $(CHECK_RUNTIME) $(EXAMPLES) $(MOSS) $(TEST_PLUGINS)
	$(TSAN_ENV) $(PORTABLE_ENV) EXAMPLES_DIR=$(OUT)/examples MOSS_BIN=$(MOSS) TEST_PLUGIN_DIR=$(BUILD)/tests/plugins \
	    $(if $(VALGRIND),$(VALGRIND_CMD)) $(CHECK_RUNTIME)

check-arch: $(SELFTEST)
	$(RUNNER) $(if $(VALGRIND),$(VALGRIND_CMD)) $(SELFTEST)

check-cli: $(MOSS)
	MOSS_BIN=$(MOSS) sh tests/integration/cli.sh
	$(if $(filter native,$(VARIANT)),sh tests/integration/install.sh)
	$(if $(filter native,$(VARIANT)),$(if $(VALGRIND),,$(MAKE) check-packaging))

check-all:
	$(MAKE) check
	$(MAKE) check ARCH=aarch64
	$(MAKE) check ARCH=portable
	$(MAKE) check VALGRIND=1
	$(MAKE) check SAN=address,undefined
	$(MAKE) check SAN=thread
	$(MAKE) -j2 fuzz-smoke

# ---- benchmarks ---------------------------------------------------------------

BENCH := $(BUILD)/bench/bench_greenlet

BENCH_HUB := $(BUILD)/bench/bench_hub

$(BUILD)/bench/%: $(OBJ)/bench/%.o $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(ALLLDFLAGS) -o $@ $^ $(LIB_LIBS)

# make bench itself: bench/bench.mk
include bench/bench.mk

# ---- examples -----------------------------------------------------------------

.PHONY: examples
examples: $(EXAMPLES)

$(OUT)/examples/%: $(OBJ)/examples/%.o $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(ALLLDFLAGS) -o $@ $^ $(LIB_LIBS)

# ---- install ------------------------------------------------------------------
# install, uninstall, man pages and the Debian package: packaging/packaging.mk

clean:
	rm -rf build bin lib

# Fuzzing (fuzz/fuzz.mk) and packaging (packaging/packaging.mk) have
# makefiles of their own.
-include fuzz/fuzz.mk
-include packaging/packaging.mk

-include $(shell find build -type f -name '*.d' 2>/dev/null)
