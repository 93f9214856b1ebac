# `make bench`: included by the top Makefile, whose variables it uses
# (BUILD, OBJ, OUT, MOSS, LIB_A, LIB_LIBS, CC, CPPFLAGS, ALLCFLAGS, BENCH,
# BENCH_HUB, and the $(OBJ)/%.o and $(BUILD)/bench/% rules).
#
# bench/bench.sh runs every benchmark with its reference measured in the same
# run: hello-world throughput against nginx, idle connections per worker,
# reloads, then $(BENCH), $(BENCH_HUB) and bench/bench_watchdog.sh; it prints
# the figures and a one-line summary and writes $(BENCH_RESULTS) (JSON).
# Figures only: a benchmark never fails the build, a tool that fails does.
# Knobs (environment): BENCH_SECONDS, BENCH_ROUNDS, BENCH_WORKERS,
# BENCH_WRK_THREADS, BENCH_RELOAD_WORKERS, BENCH_ONLY (see bench/bench.sh).

BENCH_RESULTS ?= bench/results.json
# The client side of bench.sh (connections held, probes, reloads timed) and
# the JSON writer: C with jansson, linked without libmoss.
BENCH_TOOLS := $(BUILD)/bench/bench_client $(BUILD)/bench/bench_record

$(BENCH_TOOLS): $(BUILD)/bench/%: $(OBJ)/bench/%.o
	@mkdir -p $(@D)
	$(CC) $(ALLCFLAGS) -o $@ $^ $(LIB_LIBS)

.PHONY: bench
bench: $(BENCH) $(BENCH_HUB) $(MOSS) $(BENCH_TOOLS)
	sh bench/bench.sh $(MOSS) $(BUILD)/bench $(BENCH) $(BENCH_HUB) $(BENCH_RESULTS)
