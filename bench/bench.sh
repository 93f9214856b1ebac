#!/bin/sh
# make bench: moss measured the way its users will judge it (issue 7), each
# figure beside a reference measured in the same run, then recorded as JSON.
#
#   1. hello-world throughput, GET / keep-alive at 50 and 1,000 connections
#      (wrk): moss against nginx with the same worker count and body;
#   2. idle keep-alive connections held by one worker: its RSS per
#      connection and the p99 latency of a probe while they are open, nginx
#      alongside;
#   3. reloads: SIGHUP to the new generation ready, and the requests that
#      fail across 20 reloads under wrk load;
#   4. the runtime: bench_greenlet and bench_hub;
#   5. the watchdog's cost: bench_watchdog.sh.
#
# Figures only: no timing is asserted, goals are labelled met / NOT met. A
# tool that fails, or a server that does not start, ends the run (exit 1).
#
# Usage: bench.sh MOSS TOOLS_DIR BENCH_GREENLET BENCH_HUB [RESULTS_JSON]
# TOOLS_DIR holds bench_client and bench_record. Knobs (environment):
# BENCH_SECONDS (3, each wrk measurement), BENCH_ROUNDS (5, throughput best
# of), BENCH_WORKERS (1, moss and nginx workers for throughput),
# BENCH_WRK_THREADS (1), BENCH_RELOAD_WORKERS (2), BENCH_ONLY (a list of
# throughput conns reload runtime watchdog: run only those).
set -eu
export LC_ALL=C

moss=$1
client=$2/bench_client
record=$2/bench_record
bench_greenlet=$3
bench_hub=$4
results=${5:-bench/results.json}
here=$(dirname "$0")

seconds=${BENCH_SECONDS:-3}
rounds=${BENCH_ROUNDS:-5}
workers=${BENCH_WORKERS:-1}
wrk_threads=${BENCH_WRK_THREADS:-1}
reload_workers=${BENCH_RELOAD_WORKERS:-2}
only=${BENCH_ONLY:-throughput conns reload runtime watchdog}
per_holder=5000         # connections per client process, far under its fd limit
max_goal_conns=100000   # the issue's goal per worker

tmp=$(mktemp -d /tmp/moss-bench.XXXXXX)
figures=$tmp/figures
: >"$figures"
tracked=""              # "pid:signal" of every process started and not yet ended

# ---- processes ----------------------------------------------------------------

track() { tracked="$tracked $1:$2"; }

alive() {
    [ -e "/proc/$1" ] && [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" != Z ]
}

# Ends pid with signal, then KILL after 10 s; never fails.
stop() {
    kill -s "$2" "$1" 2>/dev/null || true
    n=0
    while alive "$1" && [ "$n" -lt 200 ]; do sleep 0.05; n=$((n + 1)); done
    kill -s KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    rest=""
    for t in $tracked; do [ "${t%%:*}" = "$1" ] || rest="$rest $t"; done
    tracked=$rest
}

cleanup() {
    for t in $tracked; do stop "${t%%:*}" "${t#*:}"; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

fail() { echo "bench: $*" >&2; exit 1; }

# ---- figures -------------------------------------------------------------------

fig() { echo "$1 $2 ${3:--}" >>"$figures"; }

calc() { awk "BEGIN { printf(\"$1\", $2) }"; }

goal() { # CONDITION (awk): met or NOT met
    awk "BEGIN { print ($1) ? \"met\" : \"NOT met\" }"
}

goal_met() { # CONDITION (awk): true or false, for the JSON
    awk "BEGIN { print ($1) ? \"true\" : \"false\" }"
}

vmrss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# ---- servers -------------------------------------------------------------------

# Bounded wait for a 2xx from url while pid lives.
wait_http() {
    n=0
    while [ "$n" -lt 100 ]; do
        curl -fs -o /dev/null --max-time 1 "$1" && return 0
        alive "$2" || return 1
        sleep 0.05
        n=$((n + 1))
    done
    return 1
}

# start_moss ADMIN(on|off) ARGS...: moss on free ports; sets moss_pid, port,
# admin (HOST:PORT or off).
start_moss() {
    want_admin=$1
    shift
    for try in 1 2 3; do
        port=$("$client" port)
        admin=off
        if [ "$want_admin" = on ]; then admin=127.0.0.1:$("$client" port); fi
        "$moss" -b "127.0.0.1:$port" --admin "$admin" --drain_grace 0 "$@" >>"$tmp/moss.log" 2>&1 &
        moss_pid=$!
        track "$moss_pid" INT
        wait_http "http://127.0.0.1:$port/" "$moss_pid" && return 0
        stop "$moss_pid" INT
    done
    tail -n 20 "$tmp/moss.log" >&2
    fail "moss did not start ($try tries)"
}

nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

# start_nginx WORKERS CONNECTIONS: nginx from a temp prefix, the same body
# and Content-Type as moss's demo app; sets nginx_pid, port.
start_nginx() {
    prefix=$tmp/nginx
    mkdir -p "$prefix/logs"
    for try in 1 2 3; do
        port=$("$client" port)
        cat >"$prefix/nginx.conf" <<EOF
worker_processes $1;
worker_rlimit_nofile $(ulimit -Sn);
pid $prefix/nginx.pid;
error_log $prefix/logs/error.log;
events { worker_connections $2; }
http {
    access_log off;
    default_type text/plain;
    keepalive_timeout 600s;
    keepalive_requests 1000000;
    server { listen 127.0.0.1:$port; location / { return 200 "Hello, World!"; } }
}
EOF
        "$nginx_bin" -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/logs/error.log" \
            -g 'daemon off;' >>"$prefix/logs/out" 2>&1 &
        nginx_pid=$!
        track "$nginx_pid" TERM
        wait_http "http://127.0.0.1:$port/" "$nginx_pid" && return 0
        stop "$nginx_pid" TERM
    done
    tail -n 20 "$prefix/logs/error.log" >&2
    fail "nginx did not start"
}

have_nginx() { [ -x "$nginx_bin" ]; }

# ---- wrk -----------------------------------------------------------------------

# wrk_run URL CONNS SECONDS OUT
wrk_run() {
    wrk -t"$wrk_threads" -c"$2" -d"$3"s --latency "$1" >"$4" 2>&1 ||
        fail "wrk failed: $(cat "$4")"
}

wrk_rps() { awk '/^Requests\/sec:/ { printf("%.0f", $2) }' "$1"; }

wrk_total() { awk '/ requests in / { print $1 }' "$1"; }

wrk_p99_ms() {
    awk '$1 == "99%" { v = $2 + 0; u = $2; sub(/^[0-9.]+/, "", u)
        printf("%.2f", u == "us" ? v / 1000 : u == "s" ? v * 1000 : u == "m" ? v * 60000 : v) }' "$1"
}

# Socket errors (connect, read, write, timeout) plus non-2xx/3xx responses.
wrk_failed() {
    awk '/Socket errors:/ { gsub(",", ""); n += $4 + $6 + $8 + $10 }
         /Non-2xx or 3xx responses:/ { n += $5 } END { print n + 0 }' "$1"
}

# ---- 1. throughput ---------------------------------------------------------------

# cpu_ticks PID: user+system clock ticks of PID's children (the workers).
cpu_ticks() {
    for c in $(pgrep -P "$1"); do awk '{ print $14 + $15 }' "/proc/$c/stat" 2>/dev/null; done |
        awk '{ n += $1 } END { print n + 0 }'
}

# measure SERVER CONNS ROUND: one wrk run; keeps the best requests/s, and adds
# up the workers' CPU time and the requests, for CPU per request.
measure() {
    out=$tmp/wrk.$1.$2.$3
    eval "url=\$url_$1 server_pid=\$$1_pid"
    ticks=$(cpu_ticks "$server_pid")
    wrk_run "$url" "$2" "$seconds" "$out"
    ticks=$(($(cpu_ticks "$server_pid") - ticks))
    eval "ticks_$1_$2=\$((\${ticks_$1_$2:-0} + ticks)) requests_$1_$2=\$((\${requests_$1_$2:-0} + $(wrk_total "$out")))"
    rps=$(wrk_rps "$out")
    p99=$(wrk_p99_ms "$out")
    failed=$(wrk_failed "$out")
    printf '  round %s, %4s conns, %-5s %8s requests/s  p99 %7s ms  failed %s\n' \
        "$3" "$2" "$1" "$rps" "$p99" "$failed"
    eval "rps_$1_$2_$3=$rps"
    eval "best=\${best_$1_$2:-0}"
    if [ "$rps" -gt "$best" ]; then
        eval "best_$1_$2=$rps p99_$1_$2=$p99 failed_$1_$2=$failed"
    fi
}

# paired_median CONNS: the median over rounds of moss/nginx within a round,
# which a single lucky or unlucky run moves less than the best-of ratio.
paired_median() {
    for r in $(seq 1 "$rounds"); do
        eval "calc %.4f \"\$rps_moss_$1_$r / \$rps_nginx_$1_$r\""
        echo
    done | sort -n | awk '{ v[NR] = $1 } END { printf("%.2f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

# cpu_us SERVER CONNS: the workers' CPU microseconds per request, all rounds.
cpu_us() {
    eval "calc %.2f \"\$ticks_$1_$2 * 1000000 / $(getconf CLK_TCK) / \$requests_$1_$2\""
}

throughput_report() { # CONNS
    eval "m=\$best_moss_$1 mp=\$p99_moss_$1 mf=\$failed_moss_$1"
    fig "throughput.c$1.moss.requests_per_s" "$m" req/s
    fig "throughput.c$1.moss.p99_ms" "$mp" ms
    fig "throughput.c$1.moss.failed" "$mf" requests
    line="moss $m requests/s (p99 $mp ms)"
    ratio=n/a
    if have_nginx; then
        eval "n=\$best_nginx_$1 np=\$p99_nginx_$1 nf=\$failed_nginx_$1"
        ratio=$(calc %.2f "$m / $n")
        fig "throughput.c$1.nginx.requests_per_s" "$n" req/s
        fig "throughput.c$1.nginx.p99_ms" "$np" ms
        fig "throughput.c$1.nginx.failed" "$nf" requests
        fig "throughput.c$1.ratio_moss_nginx" "$ratio"
        paired=$(paired_median "$1")
        fig "throughput.c$1.ratio_moss_nginx_paired_median" "$paired"
        mc=$(cpu_us moss "$1") nc=$(cpu_us nginx "$1")
        fig "throughput.c$1.moss.cpu_us_per_request" "$mc" us
        fig "throughput.c$1.nginx.cpu_us_per_request" "$nc" us
        fig "throughput.c$1.goal" "moss/nginx>=1.0"
        fig "throughput.c$1.goal_met" "$(goal_met "$ratio >= 1.0")"
        line="$line, nginx $n requests/s (p99 $np ms): moss/nginx $ratio (goal >= 1.0: $(goal "$ratio >= 1.0")); median of the rounds' ratios $paired; worker CPU per request, all rounds: moss $mc us, nginx $nc us"
    fi
    echo "  $1 conns: $line"
    eval "ratio_$1=$ratio"
}

throughput() {
    echo "== 1. hello-world throughput: GET / keep-alive; $workers worker(s) each, wrk -t$wrk_threads," \
        "$seconds s runs, best of $rounds, alternating"
    # the same limits as the nginx config: keep-alive requests per connection
    start_moss off -w "$workers" --max_requests_per_connection 1000000
    url_moss=http://127.0.0.1:$port/
    servers=moss
    if have_nginx; then
        start_nginx "$workers" 4096
        url_nginx=http://127.0.0.1:$port/
        servers="moss nginx"
    else
        echo "  nginx not found: no reference (apt-get install nginx-light)"
    fi
    for s in $servers; do eval "wrk_run \$url_$s 50 1 $tmp/warmup"; done
    for r in $(seq 1 "$rounds"); do
        order=$servers
        if [ $((r % 2)) -eq 0 ]; then order=$(echo "$servers" | awk '{ for (i = NF; i > 0; i--) printf("%s ", $i) }'); fi
        for c in 50 1000; do for s in $order; do measure "$s" "$c" "$r"; done; done
    done
    fig throughput.workers "$workers"
    fig throughput.wrk_threads "$wrk_threads"
    throughput_report 50
    throughput_report 1000
    stop "$moss_pid" INT
    if have_nginx; then stop "$nginx_pid" TERM; fi
}

# ---- 2. idle connections ----------------------------------------------------------

# hold_more PORT FIRST_IP COUNT: COUNT more idle connections, per_holder per
# client process, each from its own source address 127.0.0.FIRST_IP...;
# sets held (the total), next_ip.
hold_more() {
    left=$3
    next_ip=$2
    files=""
    while [ "$left" -gt 0 ]; do
        n=$per_holder
        if [ "$left" -lt "$n" ]; then n=$left; fi
        f=$tmp/hold.$1.$next_ip
        : >"$f"   # before the client starts: wait_held reads it at once
        "$client" hold "127.0.0.1:$1" "127.0.0.$next_ip:0" "$n" 600 >"$f" 2>&1 &
        track $! TERM
        holders="$holders $!"
        files="$files $!:$f"
        left=$((left - n))
        next_ip=$((next_ip + 1))
    done
    wait_held $files
    for pf in $files; do
        held=$((held + $(awk '/^held / { print $2 }' "${pf#*:}")))
        grep -v '^held ' "${pf#*:}" | sed 's/^/  /' || true
    done
}

# wait_held PID:FILE...: a bounded wait (60 s) for every holder to report.
wait_held() {
    n=0
    for pf in "$@"; do
        while ! grep -q '^held ' "${pf#*:}" && alive "${pf%%:*}" && [ "$n" -lt 1200 ]; do
            sleep 0.05
            n=$((n + 1))
        done
        grep -q '^held ' "${pf#*:}" || fail "a client process did not report: $(cat "${pf#*:}")"
    done
}

# conns_level SERVER WORKER_PID PORT RSS0_KIB LEVEL: the figures at $held
# connections, under conns.SERVER.LEVEL.
conns_level() {
    rss=$(vmrss_kib "$2")
    probe=$("$client" probe "127.0.0.1:$3" 200)
    p99=$(echo "$probe" | sed 's/.*p99_ms=\([0-9.]*\).*/\1/')
    per=$(calc %.2f "($rss - $4) / $held")
    echo "  $1, $held idle connections: worker RSS $4 -> $rss KiB, $per KiB per connection;" \
        "probe $probe"
    fig "conns.$1.$5.connections" "$held"
    fig "conns.$1.$5.rss_kib" "$rss" KiB
    fig "conns.$1.$5.kib_per_conn" "$per" KiB
    fig "conns.$1.$5.probe_p99_ms" "$p99" ms
    eval "per_$1=$per p99c_$1=$p99 heldmax_$1=$held"
}

# conns_server SERVER WORKER_PID PORT FIRST_IP
conns_server() {
    probe=$("$client" probe "127.0.0.1:$3" 200)
    rss0=$(vmrss_kib "$2")
    echo "  $1: worker pid $2, RSS $rss0 KiB with no connection; probe $probe"
    fig "conns.$1.none.rss_kib" "$rss0" KiB
    fig "conns.$1.none.probe_p99_ms" "$(echo "$probe" | sed 's/.*p99_ms=\([0-9.]*\).*/\1/')" ms
    held=0
    holders=""
    hold_more "$3" "$4" 10000
    conns_level "$1" "$2" "$3" "$rss0" c10000
    hold_more "$3" "$next_ip" $((nmax - held))
    conns_level "$1" "$2" "$3" "$rss0" max
    for h in $holders; do stop "$h" TERM; done
}

raise_nofile() {
    hard=$(ulimit -Hn)
    soft=$(ulimit -Sn)
    if [ "$hard" != unlimited ] && [ "$soft" -lt "$hard" ]; then
        ulimit -Sn "$hard"
        echo "  raised the open-files soft limit from $soft to the hard limit $hard"
    fi
    limit=$(ulimit -Sn)
    if [ "$limit" = unlimited ]; then limit=1048576; fi
    nmax=$((limit - 100))   # the worker keeps a few fds of its own (about 10)
    if [ "$nmax" -gt "$max_goal_conns" ]; then nmax=$max_goal_conns; fi
    if [ "$nmax" -le 10000 ]; then fail "open-files limit $limit: too low for 10,000 connections"; fi
}

conns() {
    echo "== 2. idle keep-alive connections on ONE worker, $per_holder per client process," \
        "source addresses 127.0.0.x"
    raise_nofile
    if [ "$nmax" -lt "$max_goal_conns" ]; then
        echo "  the goal's $max_goal_conns connections are out of reach here: the open-files limit" \
            "($limit, hard $(ulimit -Hn)) binds the worker process; going to $nmax"
    fi
    fig conns.open_files_limit "$limit"
    fig conns.goal_conns_reachable "$(goal_met "$nmax >= $max_goal_conns")"
    start_moss on -w 1 --max_connections 100000 --keepalive_timeout 10m --backlog 4096
    conns_server moss "$("$client" workers "$admin")" "$port" 2
    stop "$moss_pid" INT
    if have_nginx; then
        start_nginx 1 $((limit - 100))
        conns_server nginx "$(pgrep -P "$nginx_pid" | head -n 1)" "$port" 10
        stop "$nginx_pid" TERM
        echo "  (nginx allocates its table of worker_connections at start: in its baseline RSS)"
    fi
    fig conns.moss.goal "KiB_per_conn<=4"
    fig conns.moss.goal_met "$(goal_met "$per_moss <= 4.0")"
    echo "  moss: $per_moss KiB per idle connection at $heldmax_moss connections" \
        "(goal <= 4 KiB: $(goal "$per_moss <= 4.0"))${per_nginx:+; nginx $per_nginx KiB}"
}

# ---- 3. reloads ------------------------------------------------------------------

# reload_figures NAME OUTPUT_OF_bench_client_reload
reload_figures() {
    for k in median_ms max_ms timeouts; do
        v=$(echo "$2" | sed "s/.*$k=\([-0-9.]*\).*/\1/")
        fig "reload.$1.$k" "$v" "$(case $k in *_ms) echo ms ;; *) echo reloads ;; esac)"
    done
}

reload() {
    echo "== 3. reloads: SIGHUP to every worker of the next generation ready ($reload_workers workers)"
    start_moss on -w "$reload_workers"
    idle=$("$client" reload "$admin" "$moss_pid" 10 200 2>"$tmp/reload.log") ||
        fail "reloads failed: $(tail -n 3 "$tmp/reload.log")"
    echo "  10 reloads, idle: $idle"
    reload_figures idle "$idle"
    wrk -t1 -c50 -d120s --latency "http://127.0.0.1:$port/" >"$tmp/wrk.reload" 2>&1 &
    wrk_pid=$!
    track "$wrk_pid" INT
    sleep 1
    loaded=$("$client" reload "$admin" "$moss_pid" 20 250 2>"$tmp/reload.log") ||
        fail "reloads failed: $(tail -n 3 "$tmp/reload.log")"
    sleep 1
    stop "$wrk_pid" INT
    total=$(wrk_total "$tmp/wrk.reload")
    reload_failed=$(wrk_failed "$tmp/wrk.reload")
    echo "  20 reloads under wrk -c50: $loaded"
    echo "  failed requests across them: $reload_failed of $total" \
        "(goal 0: $(goal "$reload_failed == 0"))"
    grep -E 'Socket errors|Non-2xx' "$tmp/wrk.reload" | sed 's/^ */    wrk: /' || true
    reload_figures loaded "$loaded"
    fig reload.loaded.requests "$total" requests
    fig reload.loaded.failed "$reload_failed" requests
    fig reload.loaded.goal "failed==0"
    fig reload.loaded.goal_met "$(goal_met "$reload_failed == 0")"
    reload_median=$(echo "$idle" | sed 's/.*median_ms=\([-0-9.]*\).*/\1/')
    reload_max=$(echo "$idle" | sed 's/.*max_ms=\([-0-9.]*\).*/\1/')
    stop "$moss_pid" INT
}

# ---- 4. runtime, 5. watchdog ----------------------------------------------------------

# run_tee NAME CMD...: runs CMD, its output shown and kept in $tmp/NAME.
run_tee() {
    name=$1
    shift
    { rc=0; "$@" || rc=$?; echo "$rc" >"$tmp/$name.rc"; } 2>&1 | tee "$tmp/$name"
    [ "$(cat "$tmp/$name.rc")" = 0 ] || fail "$name exited with $(cat "$tmp/$name.rc")"
}

# Every "LABEL best X median Y UNIT" line of a runtime bench as figures.
best_median_figures() { # FILE SECTION
    awk -v sec="$2" '/ best .* median / {
        label = $0; sub(/ +best .*/, "", label); sub(/^ +/, "", label)
        key = tolower(label); gsub(/[^a-z0-9]+/, "_", key); gsub(/^_|_$/, "", key)
        for (i = 1; i < NF; i++) {
            if ($i == "best") best = $(i + 1)
            if ($i == "median") { median = $(i + 1); unit = $(i + 2) }
        }
        print sec "." key ".best " best " " unit
        print sec "." key ".median " median " " unit }' "$1" >>"$figures"
}

runtime() {
    echo "== 4. runtime"
    run_tee greenlet "$bench_greenlet"
    run_tee hub "$bench_hub"
    best_median_figures "$tmp/greenlet" runtime.greenlet
    best_median_figures "$tmp/hub" runtime.hub
    switch_ns=$(median_of runtime.greenlet.moss_greenlet_switch)
    switch_x=$(calc %.1f "$(median_of runtime.greenlet.glibc_swapcontext_reference) / $switch_ns")
    echo_ns=$(median_of runtime.hub.echo_round_trip_socketpair_greenlets)
    echo_x=$(calc %.1f "$(median_of runtime.hub.echo_round_trip_socketpair_pthreads_ref) / $echo_ns")
    fig runtime.greenlet.switch_ratio_swapcontext_moss "$switch_x"
    fig runtime.hub.echo_ratio_pthreads_greenlets "$echo_x"
}

median_of() { awk -v k="$1.median" '$1 == k { print $2 }' "$figures"; }

watchdog() {
    echo "== 5. the watchdog's cost"
    run_tee watchdog sh "$here/bench_watchdog.sh" "$moss"
    awk '/^watchdog cost:/ { for (i = 1; i <= NF; i++) {
            if ($i == "on" && $(i + 2) == "requests/s,") print "watchdog.on_requests_per_s " $(i + 1) " req/s"
            if ($i == "off" && $(i + 2) == "requests/s") print "watchdog.off_requests_per_s " $(i + 1) " req/s"
            if ($i == "on/off") print "watchdog.ratio_on_off " $(i + 1) } }' "$tmp/watchdog" >>"$figures"
}

# ---- the run --------------------------------------------------------------------------

summary() {
    s="bench:"
    case " $only " in *" throughput "*)
        s="$s moss/nginx ${ratio_50:-n/a} at 50 conns, ${ratio_1000:-n/a} at 1000;" ;; esac
    case " $only " in *" conns "*)
        s="$s ${per_moss} KiB/conn at $heldmax_moss conns${per_nginx:+ (nginx $per_nginx)};" ;; esac
    case " $only " in *" reload "*)
        s="$s reload $reload_median ms median (max $reload_max), $reload_failed failed of $total requests;" ;; esac
    case " $only " in *" runtime "*)
        s="$s switch $switch_ns ns (${switch_x}x swapcontext), echo ${echo_x}x pthreads;" ;; esac
    case " $only " in *" watchdog "*)
        s="$s watchdog on/off $(awk '$1 == "watchdog.ratio_on_off" { print $2 }' "$figures");" ;; esac
    echo "${s%;}"
}

start_s=$(date +%s)
echo "moss bench: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)," \
    "$(nproc) cores, kernel $(uname -r); load average $(cut -d' ' -f1-3 /proc/loadavg)"
fig run.loadavg_at_start "$(cut -d' ' -f1 /proc/loadavg)"
fig run.moss_version "$("$moss" --version | awk '{ print $2 }')"
fig run.commit "$(git -C "$here" describe --always --dirty 2>/dev/null || echo unknown)"
command -v wrk >/dev/null || fail "wrk not found (apt-get install wrk)"
fig run.wrk_version "$(wrk -v 2>&1 | awk 'NR == 1 { print $2 }')"
if have_nginx; then fig run.nginx_version "$("$nginx_bin" -v 2>&1 | sed 's,.*/,,')"; fi
for part in $only; do "$part"; done
line=$(summary)
fig run.seconds $(($(date +%s) - start_s)) s
"$record" "$figures" "$results" "$line"
echo "results: $results"
echo "$line"
