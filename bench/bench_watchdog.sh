#!/bin/sh
# The watchdog's cost: hello-world throughput (GET /, keep-alive, wrk -c50)
# of one worker with the watchdog on and with it off, measured alternately
# in the same run, best of ROUNDS each; prints both and the ratio on/off.
# The goal (issue 6) is a ratio of 0.97 or more. Usage: bench_watchdog.sh MOSS
set -u
moss=$1
rounds=${ROUNDS:-3}
seconds=${SECONDS_EACH:-3}
pid=

stop() { [ -n "$pid" ] && kill -INT "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; pid=; }
trap stop EXIT INT TERM

# Starts moss with the watchdog on or off on a free port; sets port and pid.
start() {
    for try in 1 2 3 4 5; do
        port=$(shuf -i 20000-60000 -n 1)
        "$moss" -b "127.0.0.1:$port" -w 1 --admin off --drain_grace 0 --watchdog "$1" \
            >/dev/null 2>&1 &
        pid=$!
        for i in $(seq 1 50); do
            curl -s -o /dev/null "http://127.0.0.1:$port/" && return 0
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        stop
    done
    echo "bench_watchdog: moss did not start" >&2
    exit 1
}

# Requests/s of one wrk run against the running moss.
measure() {
    wrk -t1 -c50 -d"${seconds}s" "http://127.0.0.1:$port/" 2>/dev/null |
        awk '/^Requests\/sec:/ {print int($2)}'
}

best_on=0 best_off=0
for r in $(seq 1 "$rounds"); do
    for mode in on off; do
        start "$mode"
        rps=$(measure)
        stop
        rps=${rps:-0}
        echo "watchdog $mode, round $r: $rps requests/s"
        if [ "$mode" = on ] && [ "$rps" -gt "$best_on" ]; then best_on=$rps; fi
        if [ "$mode" = off ] && [ "$rps" -gt "$best_off" ]; then best_off=$rps; fi
    done
done
ratio=$(awk -v a="$best_on" -v b="$best_off" 'BEGIN { printf("%.3f", (b > 0) ? a / b : 0) }')
goal=$(awk -v r="$ratio" 'BEGIN { if (r + 0 >= 0.97) print "met"; else print "NOT met" }')
echo "watchdog cost: on $best_on requests/s, off $best_off requests/s (best of $rounds);" \
     "ratio on/off $ratio (goal >= 0.97: $goal)"
