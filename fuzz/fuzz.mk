# Fuzzing with libFuzzer (fuzz/README.md). Included by the top Makefile.
# Nothing here is built or run unless one of these targets is asked for, and
# nothing needs clang until then:
#
#   make fuzz-smoke      each harness for FUZZ_SECONDS (60) from its seeds and
#                        saved crashes; fails on any crash (CI runs this)
#   make fuzz            the same for FUZZ_LONG_SECONDS (600) each
#   make fuzz-build      the harnesses only: build/fuzz/bin/fuzz_HARNESS
#   make fuzz-replay     the seeds and saved crashes through the harness code
#                        built with gcc (the check table's replay, as a program)
#   make fuzz-coverage   line coverage of moss's sources over the corpora
#   make fuzz-clean      build/fuzz
#
# The library is compiled again with clang, instrumented for the fuzzer and
# with ASan+UBSan, into build/fuzz/obj (the gcc objects are never reused).
# New inputs a run finds go to build/fuzz/corpus/HARNESS, crashes to
# build/fuzz/artifacts/HARNESS/: the seed corpora in fuzz/corpus are only read.

FUZZ_CC           ?= clang
FUZZ_SECONDS      ?= 60
FUZZ_LONG_SECONDS ?= 600
FUZZ_PROFDATA     ?= llvm-profdata
FUZZ_LLVM_COV     ?= llvm-cov
FUZZ_HARNESSES    := http_request proxy_protocol config

FUZZ_BUILD := build/fuzz
FUZZ_OBJ   := $(FUZZ_BUILD)/obj
FUZZ_BIN   := $(FUZZ_BUILD)/bin

# The library as LIB_SRC has it, for the host's context switch.
FUZZ_LIB_SRC := $(wildcard runtime/*.c worker/*.c config/*.c) \
                $(filter-out master/main.c,$(wildcard master/*.c)) \
                $(if $(filter x86_64 aarch64,$(HOST_ARCH)),arch/$(HOST_ARCH).S,arch/portable.c)
FUZZ_LIB_OBJ := $(patsubst %,$(FUZZ_OBJ)/%.o,$(basename $(FUZZ_LIB_SRC)))
FUZZ_LIB     := $(FUZZ_BUILD)/libmoss-fuzz.a

FUZZ_PKG      := $(shell pkg-config --cflags inih jansson 2>/dev/null)
FUZZ_CPPFLAGS := -Iinclude -D_GNU_SOURCE $(FUZZ_PKG)
FUZZ_SAN      := -fsanitize=address,undefined -fno-sanitize-recover=all
# No -Werror: a warning clang has and gcc has not must not stop a fuzz run.
FUZZ_CFLAGS   := -std=gnu11 -O1 -g -Wall -Wextra -Wshadow -Wstrict-prototypes \
                 -Wmissing-prototypes -pthread -fno-omit-frame-pointer
FUZZ_LIBS     := -lev -lhttp_parser $(shell pkg-config --libs inih jansson 2>/dev/null) \
                 -ldl -pthread

# -timeout: an input that takes 10 s is a hang worth a report. Regressions
# are read (run first, at start-up) only where the directory exists.
# -max_len: the requests harness cuts each input four ways, byte by byte
# among them, so its inputs stay small (a longer seed is read cut to it;
# make check replays it whole).
FUZZ_MAX_LEN_http_request := 8192
FUZZ_RUN_FLAGS = -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -error_exitcode=77 \
                 -dict=fuzz/$(1).dict -artifact_prefix=$(FUZZ_BUILD)/artifacts/$(1)/ \
                 $(if $(FUZZ_MAX_LEN_$(1)),-max_len=$(FUZZ_MAX_LEN_$(1)))
FUZZ_CORPORA   = $(FUZZ_BUILD)/corpus/$(1) fuzz/corpus/$(1) $(wildcard fuzz/regressions/$(1))
FUZZ_ENV       := ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
                  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

.PHONY: fuzz fuzz-smoke fuzz-build fuzz-replay fuzz-coverage fuzz-clean fuzz-cc \
        $(addprefix fuzz-smoke-,$(FUZZ_HARNESSES)) $(addprefix fuzz-long-,$(FUZZ_HARNESSES))

fuzz-cc:
	@command -v $(FUZZ_CC) >/dev/null 2>&1 || \
	    { echo "fuzz: $(FUZZ_CC) not found: apt-get install clang libclang-rt-14-dev"; exit 1; }

# The harnesses themselves are not instrumented for the fuzzer: its
# feedback is moss's code alone (tracing the harness's hashing loops would
# also cost most of the time), while ASan and UBSan still watch them.
$(FUZZ_OBJ)/fuzz/%.o: fuzz/%.c fuzz/fuzz.mk | fuzz-cc
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) $(FUZZ_SAN) -MMD -MP -c $< -o $@

$(FUZZ_OBJ)/%.o: %.c fuzz/fuzz.mk | fuzz-cc
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
	    -MMD -MP -c $< -o $@

$(FUZZ_OBJ)/%.o: %.S fuzz/fuzz.mk | fuzz-cc
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_LIB): $(FUZZ_LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(FUZZ_BIN)/fuzz_%: $(FUZZ_OBJ)/fuzz/%.o $(FUZZ_LIB)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB) $(FUZZ_LIBS)

fuzz-build: $(addprefix $(FUZZ_BIN)/fuzz_,$(FUZZ_HARNESSES))

# The harness objects are made by pattern rules only: keep them.
.SECONDARY: $(patsubst %,$(FUZZ_OBJ)/fuzz/%.o,$(FUZZ_HARNESSES)) \
            $(patsubst %,$(FUZZ_BUILD)/cov/obj/fuzz/%.o,$(FUZZ_HARNESSES))

# One harness for $(2) seconds; its log goes to build/fuzz/logs, and the
# figures (or, on a crash, the log's end) to the terminal.
define fuzz_run
	@mkdir -p $(FUZZ_BUILD)/corpus/$(1) $(FUZZ_BUILD)/artifacts/$(1) $(FUZZ_BUILD)/logs
	@echo "fuzz: $(1) for $(2) s"
	@if $(FUZZ_ENV) $(FUZZ_BIN)/fuzz_$(1) $(call FUZZ_RUN_FLAGS,$(1)) -max_total_time=$(2) \
	        $(call FUZZ_CORPORA,$(1)) >$(FUZZ_BUILD)/logs/$(1).log 2>&1; then \
	    grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' \
	        $(FUZZ_BUILD)/logs/$(1).log | sed 's/^/  $(1): /'; \
	else \
	    tail -n 60 $(FUZZ_BUILD)/logs/$(1).log; \
	    echo "fuzz: $(1) FAILED: the input is in $(FUZZ_BUILD)/artifacts/$(1)/; keep it in fuzz/regressions/$(1)/"; \
	    exit 1; \
	fi
endef

$(addprefix fuzz-smoke-,$(FUZZ_HARNESSES)): fuzz-smoke-%: $(FUZZ_BIN)/fuzz_%
	$(call fuzz_run,$*,$(FUZZ_SECONDS))

$(addprefix fuzz-long-,$(FUZZ_HARNESSES)): fuzz-long-%: $(FUZZ_BIN)/fuzz_%
	$(call fuzz_run,$*,$(FUZZ_LONG_SECONDS))

fuzz-smoke: $(addprefix fuzz-smoke-,$(FUZZ_HARNESSES))

fuzz: $(addprefix fuzz-long-,$(FUZZ_HARNESSES))

# ---- the replay with gcc ------------------------------------------------------------

# tests/worker/fuzz_regression_cases.c (the check table) as a program of its
# own, built as the tests are, for the current variant (SAN=, VALGRIND=1).
FUZZ_REPLAY := $(FUZZ_BUILD)/replay-$(VARIANT)/fuzz_replay

$(FUZZ_BUILD)/replay-$(VARIANT)/replay_main.o: fuzz/replay_main.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests $(ALLCFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_REPLAY): $(FUZZ_BUILD)/replay-$(VARIANT)/replay_main.o \
                $(OBJ)/tests/worker/fuzz_regression_cases.o $(LIB_A)
	$(CC) $(ALLLDFLAGS) -o $@ $^ $(LIB_LIBS)

fuzz-replay: $(FUZZ_REPLAY)
	$(if $(VALGRIND),$(VALGRIND_CMD)) $(FUZZ_REPLAY)

# ---- coverage -----------------------------------------------------------------------

# The harnesses again with clang's source-based coverage (no sanitizers),
# run once over the seeds and whatever the fuzz runs added (not the saved
# crashes: one not fixed yet would stop the run); each reports on the
# sources it is for.
FUZZ_COV         := $(FUZZ_BUILD)/cov
FUZZ_COV_LIB_OBJ := $(patsubst %,$(FUZZ_COV)/obj/%.o,$(basename $(FUZZ_LIB_SRC)))
FUZZ_COV_FLAGS   := -fprofile-instr-generate -fcoverage-mapping
FUZZ_COV_SRC_http_request   := worker/http_request.c worker/access_log.c
FUZZ_COV_SRC_proxy_protocol := worker/proxy_protocol.c
FUZZ_COV_SRC_config         := config/ini.c config/settings.c

$(FUZZ_COV)/obj/%.o: %.c | fuzz-cc
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) $(FUZZ_COV_FLAGS) -MMD -MP -c $< -o $@

$(FUZZ_COV)/obj/%.o: %.S | fuzz-cc
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_COV)/bin/fuzz_%: $(FUZZ_COV)/obj/fuzz/%.o $(FUZZ_COV_LIB_OBJ)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_COV_FLAGS) -fsanitize=fuzzer -o $@ $^ $(FUZZ_LIBS)

.PHONY: $(addprefix fuzz-coverage-,$(FUZZ_HARNESSES))
$(addprefix fuzz-coverage-,$(FUZZ_HARNESSES)): fuzz-coverage-%: $(FUZZ_COV)/bin/fuzz_%
	@mkdir -p $(FUZZ_BUILD)/corpus/$*
	@rm -f $(FUZZ_COV)/$*.profraw
	@LLVM_PROFILE_FILE=$(FUZZ_COV)/$*.profraw $(FUZZ_COV)/bin/fuzz_$* -runs=0 \
	    -artifact_prefix=$(FUZZ_COV)/ $(FUZZ_BUILD)/corpus/$* fuzz/corpus/$* \
	    >$(FUZZ_COV)/$*.log 2>&1 || { tail -n 20 $(FUZZ_COV)/$*.log; exit 1; }
	@$(FUZZ_PROFDATA) merge -sparse $(FUZZ_COV)/$*.profraw -o $(FUZZ_COV)/$*.profdata
	@echo "== $*: $$(find $(FUZZ_BUILD)/corpus/$* fuzz/corpus/$* -type f | wc -l) inputs"
	@$(FUZZ_LLVM_COV) report $(FUZZ_COV)/bin/fuzz_$* -instr-profile=$(FUZZ_COV)/$*.profdata \
	    $(FUZZ_COV_SRC_$*)

fuzz-coverage: $(addprefix fuzz-coverage-,$(FUZZ_HARNESSES))

fuzz-clean:
	rm -rf $(FUZZ_BUILD)
