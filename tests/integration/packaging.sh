#!/bin/sh
# Packaging (issue 8), as installed by `make install DESTDIR=... PREFIX=/usr`:
#   - moss.service (Type=notify-reload, and the Type=notify variant) and
#     moss.socket: their settings, `systemd-analyze verify`;
#   - the unit's ExecStart line run by systemd-socket-activate: LISTEN_FDS
#     honoured (with and without bind), and the notify messages (READY=1,
#     STATUS=, RELOADING=1 with MONOTONIC_USEC on SIGHUP, STOPPING=1), all
#     from the master's pid, caught by a small $NOTIFY_SOCKET listener;
#   - the logrotate snippet: a rotation makes moss reopen its logs (USR1);
#   - the man pages: `man -l --warnings` silent, every setting with its
#     default in moss.conf(5), every flag, signal, exit status and file in
#     moss(1);
#   - the example configuration: every setting, with its default, valid;
#   - the Debian package: built (dpkg-buildpackage -b), its contents, lintian
#     without errors; in CI as root, installed with dpkg -i, run, curled and
#     purged.
# Parts whose tools are missing are skipped with a SKIP line saying so.
# Ends with "N passed, N failed, N skipped"; exits non-zero on any failure.
#
# Environment: MOSS_BIN (the built moss; `make check-packaging` sets it), the
# make flags of the caller (BUILD=...), which the inner makes inherit, and
# PACKAGING_KEEP=1 to keep the scratch directory (logs, notify messages).
set -eu
bin=${MOSS_BIN:?MOSS_BIN must name the moss binary}
case $bin in /*) ;; *) bin=$(pwd)/$bin ;; esac
root=$(mktemp -d)
pids=""
step="setting up"
finished=0
pkg_installed=0
passed=0 failed=0 skipped=0

cleanup() {
    rc=$?
    for pid in $pids; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in $pids; do
        i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
        kill -KILL "$pid" 2>/dev/null || true
    done
    if [ "$pkg_installed" = 1 ]; then purge_packages || true; fi
    if [ "$finished" -ne 1 ]; then
        printf 'FAIL packaging.sh stopped early (exit %s) while %s\n' "$rc" "$step"
    fi
    if [ -n "${PACKAGING_KEEP:-}" ]; then echo "packaging.sh: kept $root"; else rm -rf "$root"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); printf 'FAIL %s\n' "$1"; }
skip() { skipped=$((skipped + 1)); printf 'SKIP %s\n' "$1"; }
have() { command -v "$1" >/dev/null 2>&1; }
show() { sed 's/^/    /' "$1" | tail -n "${2:-40}"; } # a log, indented

# ms from a duration: moss's (30s, 100ms, 1m, 1h, 0) or systemd's (45s, 2min).
to_ms() {
    case $1 in
    *ms) echo "${1%ms}" ;;
    *min) echo $((${1%min} * 60000)) ;;
    *s) echo $((${1%s} * 1000)) ;;
    *m) echo $((${1%m} * 60000)) ;;
    *h) echo $((${1%h} * 3600000)) ;;
    *) echo $(($1 * 1000)) ;; # systemd: bare seconds; moss: 0
    esac
}

# Polls a command every 0.1 s, at most tenths times: 0 once it succeeds.
wait_for() {
    tenths=$1
    shift
    i=0
    while [ $i -lt "$tenths" ]; do
        if "$@"; then return 0; fi
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

# Waits (at most tenths) for pid to end; sets status to its exit status, or
# kills it and returns 1.
wait_exit() {
    pid=$1 tenths=$2
    if wait_for "$tenths" sh -c "! kill -0 $pid 2>/dev/null"; then
        status=0
        wait "$pid" || status=$?
        return 0
    fi
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    return 1
}

port() { shuf -i 20000-60000 -n 1; }

# ---- the settings table: names and defaults ---------------------------------

step="reading moss --settings-markdown"
"$bin" --settings-markdown >"$root/settings.md"
# "name default" per row, the backticks removed; "" (empty) stays "".
awk -F'|' '/^\| `[a-z_]+` \|/ {
    n = $2; d = $4; gsub(/[ `]/, "", n); gsub(/^ +| +$/, "", d); gsub(/`/, "", d); print n, d }' \
    "$root/settings.md" >"$root/settings.txt"
nsettings=$(wc -l <"$root/settings.txt")
if [ "$nsettings" -ge 30 ]; then ok; else fail "the settings table has $nsettings rows: the markdown changed?"; fi
default_of() { awk -v n="$1" '$1 == n { print $2 }' "$root/settings.txt"; }

# ---- make install: the files under test ---------------------------------------

step="running make install"
inst=$root/inst
inst_notify=$root/inst-notify
if make -s install DESTDIR="$inst" PREFIX=/usr SYSTEMD_TYPE=notify-reload >"$root/install.log" 2>&1 &&
   make -s install DESTDIR="$inst_notify" PREFIX=/usr SYSTEMD_TYPE=notify >>"$root/install.log" 2>&1; then ok
else
    fail "make install DESTDIR=... PREFIX=/usr (SYSTEMD_TYPE=notify-reload, then notify)"
    show "$root/install.log"
    exit 1
fi
unitdir=$inst/usr/lib/systemd/system
service=$unitdir/moss.service
socket=$unitdir/moss.socket

# ---- the units ----------------------------------------------------------------

step="checking the units"
# key=value lines of a unit, comments dropped.
unit_value() { sed -n "s/^$2=//p" "$1"; }
expect_key() { # unit, key, value, why
    got=$(unit_value "$1" "$2")
    if [ "$got" = "$3" ]; then ok; else fail "${1#"$root"/}: $2='$got', want '$3' ($4)"; fi
}
expect_key "$service" Type notify-reload "the master notifies RELOADING=1 and READY=1 around a reload"
expect_key "$service" ReloadSignal SIGHUP "notify-reload: systemd sends the reload signal itself"
expect_key "$service" ExecReload "" "notify-reload needs no ExecReload"
notify_service=$inst_notify/usr/lib/systemd/system/moss.service
expect_key "$notify_service" Type notify "the variant for systemd before 253"
# shellcheck disable=SC2016 # $MAINPID is systemd's, in the unit
expect_key "$notify_service" ExecReload '/bin/kill -HUP $MAINPID' "the Type=notify variant reloads with SIGHUP"
expect_key "$notify_service" ReloadSignal "" "systemd before 253 does not know ReloadSignal="
if diff "$service" "$notify_service" | grep '^[<>]' | grep -vqE '^[<>] (Type=|ReloadSignal=|ExecReload=)'; then
    fail "the Type=notify variant differs in more than Type=, ReloadSignal= and ExecReload="
    diff "$service" "$notify_service" || true
else ok; fi
for s in "$service" "$notify_service"; do
    expect_key "$s" KillSignal SIGTERM "a graceful stop"
    expect_key "$s" KillMode mixed "SIGTERM to the master only: it drains the workers itself"
    expect_key "$s" NotifyAccess main "only the master notifies"
    expect_key "$s" ExecStart "/usr/bin/moss -c /etc/moss/moss.conf --pid /run/moss/moss.pid" \
        "the binary, the configuration and the pid file the logrotate snippet reads"
    for kv in NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes \
              DynamicUser=yes RuntimeDirectory=moss LogsDirectory=moss; do
        expect_key "$s" "${kv%%=*}" "${kv#*=}" hardening
    done
done
# Stopping takes drain_grace + graceful_timeout + 2 s (a worker alive 2 s
# after graceful_timeout is killed); a reload takes up to reload_timeout.
stop_ms=$(to_ms "$(unit_value "$service" TimeoutStopSec)")
need_ms=$(($(to_ms "$(default_of drain_grace)") + $(to_ms "$(default_of graceful_timeout)") + 2000))
if [ "$stop_ms" -gt "$need_ms" ]; then ok
else fail "TimeoutStopSec is ${stop_ms} ms: not above drain_grace + graceful_timeout + 2s = $need_ms ms"; fi
start_ms=$(to_ms "$(unit_value "$service" TimeoutStartSec)")
reload_ms=$(to_ms "$(default_of reload_timeout)")
if [ "$start_ms" -gt "$reload_ms" ]; then ok
else fail "TimeoutStartSec is ${start_ms} ms: not above reload_timeout ($reload_ms ms), which systemd applies to reloads"; fi
expect_key "$socket" ListenStream "$(default_of bind)" "the socket listens where moss would by default"
expect_key "$socket" Service moss.service "the socket activates moss.service"

# systemd-analyze verify: no warning at all, man pages found (Documentation=).
step="running systemd-analyze verify"
if have systemd-analyze; then
    sdver=$(systemctl --version 2>/dev/null | sed -n '1s/^systemd \([0-9][0-9]*\).*/\1/p')
    for variant in notify-reload notify; do
        if [ "$variant" = notify-reload ] && [ "${sdver:-0}" -lt 253 ]; then
            skip "systemd-analyze verify of the Type=notify-reload unit: this systemd ($sdver) predates notify-reload (253)"
            continue
        fi
        from=$inst; [ "$variant" = notify ] && from=$inst_notify
        vdir=$root/verify-$variant
        mkdir -p "$vdir"
        for u in moss.service moss.socket; do
            sed "s|/usr/bin/moss|$from/usr/bin/moss|" "$from/usr/lib/systemd/system/$u" >"$vdir/$u"
        done
        if MANPATH=$from/usr/share/man systemd-analyze verify "$vdir/moss.service" "$vdir/moss.socket" \
               >"$root/verify.log" 2>&1 && [ ! -s "$root/verify.log" ]; then ok
        else fail "systemd-analyze verify of the Type=$variant units"; show "$root/verify.log"; fi
    done
else
    skip "systemd-analyze verify: not installed (Debian package systemd)"
fi

# ---- socket activation and the notify protocol ----------------------------------

step="building the notify listener"
cat >"$root/notify_listener.c" <<'EOF'
/* notify_listener SOCKET SECONDS: receives sd_notify datagrams on the unix
 * socket SOCKET and prints each as one line, "pid=SENDER|FIELD|FIELD...",
 * for SECONDS at most. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    int fd, on = 1;

    if (argc != 3 || strlen(argv[1]) >= sizeof(addr.sun_path)) {
        fputs("usage: notify_listener SOCKET SECONDS\n", stderr);
        return 2;
    }
    strcpy(addr.sun_path, argv[1]);
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd == -1 || setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) == -1 ||
        bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == -1) {
        perror("notify_listener");
        return 1;
    }
    alarm((unsigned)atoi(argv[2]));
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (;;) {
        char buf[4096];
        union {
            struct cmsghdr align;
            char space[CMSG_SPACE(sizeof(struct ucred))];
        } control;
        struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf) - 1};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
                             .msg_controllen = sizeof(control)};
        struct ucred cred = {0};
        ssize_t n = recvmsg(fd, &msg, 0);

        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1) {
            perror("notify_listener: recvmsg");
            return 1;
        }
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS)
                memcpy(&cred, CMSG_DATA(c), sizeof(cred));
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] == '\n')
                buf[i] = '|';
        buf[n] = '\0';
        printf("pid=%ld|%s\n", (long)cred.pid, buf);
    }
}
EOF
listener=$root/notify_listener
if cc -std=gnu11 -Wall -Wextra -Werror -o "$listener" "$root/notify_listener.c" 2>"$root/cc.log"; then ok
else fail "the notify listener compiles"; show "$root/cc.log"; fi

# The unit's ExecStart, with the test's binary, configuration and pid file.
exec_start=$(unit_value "$service" ExecStart)
mkdir -p "$root/run"
unit_command=$(printf '%s\n' "$exec_start" | sed -e "s|^/usr/bin/moss |$bin |" \
    -e "s|/etc/moss/moss.conf|$root/moss.conf|" -e "s|/run/moss/moss.pid|$root/run/moss.pid|")

# Starts the unit's command under systemd-socket-activate, as moss.socket
# would, on a free port, with the admin on another, and makes the first
# request (which makes systemd-socket-activate exec moss): 0 once it is
# answered. Sets sa_pid (the master's pid), sa_port, sa_admin and
# notify_log. The configuration is the installed one, plus the lines of
# $sa_conf with @PORT@ made the port. Arguments go after the command's.
sa_conf=""
sa_start() {
    for _ in 1 2 3 4 5; do
        sa_port=$(port)
        sa_admin=$(port)
        cp "$inst/etc/moss/moss.conf" "$root/moss.conf"
        [ -z "$sa_conf" ] || printf '%s\n' "$sa_conf" | sed "s|@PORT@|$sa_port|g" >>"$root/moss.conf"
        notify_sock=$root/notify-$sa_port.sock
        notify_log=$root/notify-$sa_port.log
        "$listener" "$notify_sock" 120 >"$notify_log" 2>&1 &
        pids="$pids $!"
        if ! wait_for 50 test -S "$notify_sock"; then
            fail "the notify listener did not bind $notify_sock"
            show "$notify_log"
            return 1
        fi
        # shellcheck disable=SC2086 # the command line is words by design
        systemd-socket-activate -l "127.0.0.1:$sa_port" --fdname=moss.socket \
            -E "NOTIFY_SOCKET=$notify_sock" -- $unit_command --admin "127.0.0.1:$sa_admin" "$@" \
            >"$root/sa.log" 2>&1 &
        sa_pid=$!
        pids="$pids $sa_pid"
        if wait_for 50 grep -qs "Listening on" "$root/sa.log"; then
            if answers "$sa_port"; then return 0; fi
            # the admin port was taken: another try; anything else fails
            grep -q 'admin: bind(.*Address already in use' "$root/sa.log" || break
        fi
        kill -TERM "$sa_pid" 2>/dev/null || true
        wait "$sa_pid" 2>/dev/null || true
    done
    show "$root/sa.log"
    return 1
}

# The listeners' addresses in the admin's /stats, space-separated.
listeners() {
    curl -s -m 5 "http://127.0.0.1:$1/stats" | sed -n 's/.*"listeners":\[\([^]]*\)\].*/\1/p' |
        grep -o '"address":"[^"]*"' | sed 's/"address":"\(.*\)"/\1/' | tr '\n' ' ' | sed 's/ $//'
}

notify_has() { grep -q "$1" "$notify_log"; }
ready_count() { grep -c '|READY=1' "$notify_log" || true; }
last_line() { grep -nE "$1" "$notify_log" | tail -n 1 | cut -d: -f1; }

# GET / on a port answers 200 (within 15 s: the first one execs moss).
answers() { [ "$(curl -s -m 15 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/" || true)" = 200 ]; }

sa_stop() { # SIGTERM: exit 0, STOPPING=1
    kill -TERM "$sa_pid" 2>/dev/null || true
    status=""
    if wait_exit "$sa_pid" 150 && [ "$status" -eq 0 ]; then ok
    else fail "$1: moss exits 0 on SIGTERM (status '${status}')"; show "$root/sa.log"; fi
    if notify_has '|STOPPING=1'; then ok; else fail "$1: SIGTERM notifies STOPPING=1"; show "$notify_log"; fi
}

if have systemd-socket-activate && [ -x "$listener" ] && have curl; then
    step="testing socket activation with no bind"
    what="socket activation, no bind"
    sa_conf=""
    if ! sa_start -w 2 --drain_grace 0; then
        fail "$what: moss, started by systemd-socket-activate, answers on the socket passed in"
    else
        ok
        got=$(listeners "$sa_admin")
        if [ "$got" = "127.0.0.1:$sa_port" ]; then ok
        else fail "$what: the socket passed in is the only listener (/stats listeners: '$got')"; fi
        if wait_for 100 notify_has '|READY=1'; then ok
        else fail "$what: READY=1 once the workers serve"; show "$notify_log"; fi
        if grep '|READY=1' "$notify_log" | grep -q '|STATUS=.'; then ok
        else fail "$what: READY=1 comes with STATUS="; show "$notify_log"; fi
        # SIGHUP (what notify-reload's ReloadSignal sends): RELOADING=1 with
        # MONOTONIC_USEC, then READY=1 again once the new workers serve.
        before=$(ready_count)
        kill -HUP "$sa_pid" 2>/dev/null || true
        wait_for 150 sh -c "[ \$(grep -c '|READY=1' '$notify_log') -gt $before ]" || true
        reloading=$(last_line '\|RELOADING=1\|MONOTONIC_USEC=[0-9]+(\||$)')
        ready=$(last_line '\|READY=1')
        if [ -n "$reloading" ] && [ "$(ready_count)" -gt "$before" ] && [ "${ready:-0}" -gt "$reloading" ]; then ok
        else fail "$what: SIGHUP notifies RELOADING=1 with MONOTONIC_USEC, then READY=1"; show "$notify_log"; fi
        if answers "$sa_port"; then ok; else fail "$what: moss answers after the reload"; fi
        sa_stop "$what"
        others=$(cut -d'|' -f1 "$notify_log" | sort -u | grep -vx "pid=$sa_pid" | tr '\n' ' ' || true)
        if [ -z "$others" ]; then ok
        else fail "$what: every notification comes from the master (pid=$sa_pid), not from: $others"
            show "$notify_log"; fi
    fi

    # The configuration binds the passed socket's address and another one:
    # moss must take the socket for the first (binding it again would fail:
    # it is listening) and bind the second itself.
    step="testing socket activation with bind"
    what="socket activation, bind"
    sa_conf="bind = 127.0.0.1:@PORT@
bind = 127.0.0.1:0"
    if ! sa_start -w 1 --drain_grace 0; then
        fail "$what: moss takes the socket passed in for the bind address it matches"
    else
        ok
        got=$(listeners "$sa_admin")
        second=${got#"127.0.0.1:$sa_port "}
        case $got in
        "127.0.0.1:$sa_port 127.0.0.1:"[1-9]*) ok ;;
        *) fail "$what: /stats listeners are the passed socket, then the one moss bound (got '$got')" ;;
        esac
        if [ "$second" != "$got" ] && answers "${second#127.0.0.1:}"; then ok
        else fail "$what: moss serves the address it bound itself ('$second')"; fi
        sa_stop "$what"
    fi
    sa_conf=""
else
    have systemd-socket-activate ||
        skip "socket activation: systemd-socket-activate is not installed (Debian package systemd)"
    have curl || skip "socket activation: curl is not installed"
fi

# ---- logrotate ----------------------------------------------------------------

# moss writes its access log under a scratch /var/log/moss; the snippet (its
# paths made the scratch ones) rotates it; the postrotate script's USR1 must
# make moss reopen: the next request goes to a new access.log.
step="testing the logrotate snippet"
snippet=$root/logrotate.conf
logdir=$root/log
lr_pid=$root/run/lr.pid
mkdir -p "$logdir"
for path in /var/log/moss/ /run/moss/moss.pid /run/systemd/system; do
    if grep -qF "$path" packaging/logrotate/moss; then ok
    else fail "packaging/logrotate/moss no longer names $path: update this test"; fi
done
if grep -q 'USR1' packaging/logrotate/moss; then ok; else fail "the logrotate snippet sends USR1"; fi
sed -e "s|/var/log/moss/|$logdir/|" -e "s|/run/moss/moss.pid|$lr_pid|" \
    -e "s|/run/systemd/system|$root/no-systemd|" packaging/logrotate/moss >"$snippet"
chmod 644 "$snippet"

lr_port=""
for _ in 1 2 3 4 5; do
    p=$(port)
    "$bin" -b "127.0.0.1:$p" --admin off -w 1 --drain_grace 0 --access_log "$logdir/access.log" \
        --pid "$lr_pid" >"$root/lr.log" 2>&1 &
    lr_moss=$!
    pids="$pids $lr_moss"
    if wait_for 50 answers "$p"; then lr_port=$p; break; fi
    kill -TERM "$lr_moss" 2>/dev/null || true
    wait "$lr_moss" 2>/dev/null || true
done
if [ -n "$lr_port" ] && have curl; then
    curl -s -m 5 -o /dev/null "http://127.0.0.1:$lr_port/before-rotation" || true
    if wait_for 50 grep -qs before-rotation "$logdir/access.log"; then ok
    else fail "moss writes its access log"; show "$root/lr.log"; fi
    if have logrotate; then
        if logrotate -d -s "$root/lr-debug.state" "$snippet" >"$root/logrotate.log" 2>&1 &&
           ! grep -qi 'error' "$root/logrotate.log"; then ok
        else fail "logrotate -d accepts the snippet"; show "$root/logrotate.log"; fi
        if logrotate -f -s "$root/lr.state" "$snippet" >"$root/logrotate.log" 2>&1; then ok
        else fail "logrotate -f with the snippet"; show "$root/logrotate.log"; fi
    else
        skip "logrotate is not installed (Debian package logrotate): renaming the log and running the snippet's postrotate script by hand"
        mv "$logdir/access.log" "$logdir/access.log.1"
        sed -n '/^ *postrotate/,/^ *endscript/p' "$snippet" | sed '1d;$d' >"$root/postrotate.sh"
        if sh -e "$root/postrotate.sh" >"$root/logrotate.log" 2>&1; then ok
        else fail "the snippet's postrotate script runs"; show "$root/logrotate.log"; fi
    fi
    # the reopen is asynchronous (master, then workers): retry the request
    wait_for 50 sh -c "curl -s -m 2 -o /dev/null http://127.0.0.1:$lr_port/after-rotation;
                       grep -q after-rotation '$logdir/access.log' 2>/dev/null" || true
    if grep -q after-rotation "$logdir/access.log" 2>/dev/null &&
       grep -q before-rotation "$logdir/access.log.1" 2>/dev/null &&
       ! grep -q after-rotation "$logdir/access.log.1"; then ok
    else
        fail "after the rotation (USR1), moss writes to a new access.log, the old one is access.log.1"
        ls -l "$logdir"
        show "$root/lr.log"
    fi
    kill -TERM "$lr_moss" 2>/dev/null || true
    if wait_exit "$lr_moss" 150 && [ "$status" -eq 0 ]; then ok
    else fail "moss (logrotate test) exits 0 on SIGTERM"; fi
else
    fail "moss with an access log starts"
    show "$root/lr.log"
fi

# ---- the man pages -----------------------------------------------------------------

step="testing the man pages"
man1=$inst/usr/share/man/man1/moss.1
man5=$inst/usr/share/man/man5/moss.conf.5
version=$(sed -n 's/^VERSION *:= *//p' Makefile)
if have man; then
    for page in "$man1" "$man5"; do
        if MANWIDTH=80 man -l --warnings "$page" 2>"$root/man.err" >/dev/null && [ ! -s "$root/man.err" ]; then ok
        else fail "man -l --warnings ${page#"$inst"}: warnings"; show "$root/man.err"; fi
    done
    # wide, so that no line breaks inside a value
    render() { MANWIDTH=400 man -l "$1" 2>/dev/null | col -bx; }
    render "$man5" >"$root/moss.conf.5.txt"
    render "$man1" >"$root/moss.1.txt"
    # the SETTINGS section: each setting's tag, then "Type: ... Default: D. Range: ..."
    while read -r name def; do
        if awk -v name="$name" -v def="$def" '
            /^SETTINGS/ { s = 1; next }
            /^[A-Z]/ { s = 0 }
            s && !found { t = $0; sub(/^ +/, "", t); split(t, w, / +/); if (w[1] == name) { found = 1; left = 4 } }
            found && left > 0 { if (index($0, "Default: " def ". Range: ")) good = 1; left-- }
            END { exit !good }' "$root/moss.conf.5.txt"; then ok
        else fail "moss.conf(5) lists setting '$name' with its default '$def'"; fi
    done <"$root/settings.txt"
    entries=$(awk '/^SETTINGS/ { s = 1; next } /^[A-Z]/ { s = 0 } s && /^ +Type: / { n++ } END { print n + 0 }' \
        "$root/moss.conf.5.txt")
    if [ "$entries" -eq "$nsettings" ]; then ok
    else fail "moss.conf(5) has $entries settings, the table $nsettings"; fi
    # section of the rendered moss(1): from its heading to the next one
    section() { awk -v h="$1" '$0 == h { s = 1; next } /^[A-Z]/ { s = 0 } s' "$root/moss.1.txt"; }
    section OPTIONS >"$root/options.txt"
    # every flag of `moss -h` (its lines "  -c, --config FILE ...", before the
    # signals and the settings)
    for flag in $("$bin" -h | sed -n '1,/^Signals/p' |
                  sed -n 's/^  \(-[a-z]\)\(, \(--[a-z]*\)\)\{0,1\}.*/\1 \3/p'); do
        if grep -qE -- "(^|[ ,])$flag([ ,]|\$)" "$root/options.txt"; then ok; else fail "moss(1) OPTIONS lacks $flag (moss -h has it)"; fi
    done
    # every signal of docs/operations.md's table
    section SIGNALS >"$root/signals.txt"
    for sig in $(awk '/^## Signals to the master/ { s = 1; next } /^## / { s = 0 }
                      s && /^\| `/ { print $2 }' docs/operations.md | tr -d '`,'); do
        if grep -qw "$sig" "$root/signals.txt"; then ok; else fail "moss(1) SIGNALS lacks $sig (docs/operations.md has it)"; fi
    done
    section "EXIT STATUS" >"$root/exit.txt"
    for code in 0 1 2; do
        if grep -qE "^ +$code( |$)" "$root/exit.txt"; then ok; else fail "moss(1) EXIT STATUS lacks $code"; fi
    done
    section FILES >"$root/files.txt"
    for f in /etc/moss/moss.conf /run/moss/moss.pid /var/log/moss/ /etc/logrotate.d/moss moss.service moss.socket; do
        if grep -qF "$f" "$root/files.txt"; then ok; else fail "moss(1) FILES lacks $f"; fi
    done
    if head -n 1 "$root/moss.1.txt" | grep -q '^MOSS(1)' && tail -n 1 "$root/moss.1.txt" | grep -qF "moss $version"; then ok
    else fail "moss(1) is titled MOSS(1) and footed with 'moss $version'"; fi
else
    skip "the man pages: man is not installed (Debian package man-db)"
fi
# moss.conf(5) is made from the table: it cannot drift, but the build must
# not lose it either (the generator fails on markdown it does not know).
if grep -q '^\.SH SETTINGS' "$man5" && [ "$(grep -c '^\.TP' "$man5")" -ge "$nsettings" ]; then ok
else fail "the installed moss.conf(5) has a SETTINGS section with every setting"; fi

# ---- the example configuration -------------------------------------------------------

step="testing the example configuration"
example=packaging/moss.conf.example
# ";name = value" lines: the settings, commented out, with their defaults
sed -n 's/^;\([a-z_][a-z_]*\) =\(.*\)$/\1 \2/p' "$example" | sed 's/  */ /g; s/ $//' >"$root/example.txt"
while read -r name def; do
    [ "$def" = '""' ] && def=""
    n=$(awk -v n="$name" '$1 == n' "$root/example.txt" | wc -l)
    got=$(awk -v n="$name" '$1 == n { $1 = ""; sub(/^ /, ""); print }' "$root/example.txt")
    if [ "$n" -eq 1 ] && [ "$got" = "$def" ]; then ok
    else fail "the example configuration has ';$name = $def' once (found $n, value '$got')"; fi
done <"$root/settings.txt"
while read -r name rest; do
    if [ -n "$(default_of "$name")" ]; then ok; else fail "the example configuration names '$name', not a setting"; fi
done <"$root/example.txt"
if "$bin" -t -c "$example" >"$root/t.log" 2>&1; then ok
else fail "moss -t accepts the example configuration"; show "$root/t.log"; fi
sed 's/^;\([a-z_][a-z_]* =\)/\1/' "$example" >"$root/uncommented.conf"
if "$bin" -t -c "$root/uncommented.conf" >"$root/t.log" 2>&1; then ok
else fail "moss -t accepts the example configuration with every setting uncommented"; show "$root/t.log"; fi
for f in "$inst/etc/moss/moss.conf" "$inst/usr/share/doc/moss/examples/moss.conf"; do
    if cmp -s "$example" "$f"; then ok; else fail "${f#"$inst"} is the example configuration"; fi
done

# ---- the packages, installed (CI as root) -------------------------------------------

# The README's Nth ```c block.
readme_block() { awk -v n="$1" '/^```c$/{k++; if (k == n) {f = 1; next}} /^```$/{f = 0} f' README.md; }

# Starts a command on a free loopback port ("$@" -b 127.0.0.1:PORT) and
# waits until GET / answers: sets srv_port and srv_pid.
start_on_free_port() {
    for _ in 1 2 3 4 5; do
        srv_port=$(port)
        "$@" -b "127.0.0.1:$srv_port" >"$root/srv.log" 2>&1 &
        srv_pid=$!
        pids="$pids $srv_pid"
        if wait_for 100 answers "$srv_port"; then return 0; fi
        kill -TERM "$srv_pid" 2>/dev/null || true
        wait "$srv_pid" 2>/dev/null || true
    done
    show "$root/srv.log"
    return 1
}

pkg_installed=0
purge_packages() { dpkg --purge moss libmoss-dev libmoss0 >"$root/purge.log" 2>&1; }

# dpkg -i of the three packages; the server and the library as installed;
# the unit's ExecStart (with systemctl when systemd runs); dpkg --purge.
dpkg_test() {
    if dpkg -i "$deb/moss_${version}_$arch.deb" "$deb/libmoss0_${version}_$arch.deb" \
           "$deb/libmoss-dev_${version}_$arch.deb" >"$root/dpkg.log" 2>&1; then ok
    else fail "dpkg -i of moss, libmoss0 and libmoss-dev"; show "$root/dpkg.log"; return 0; fi
    pkg_installed=1
    if [ "$(/usr/bin/moss -v 2>&1)" = "moss $version" ]; then ok; else fail "the installed /usr/bin/moss -v"; fi
    # libmoss-dev: the README's moss_serve program, with the system's pkg-config
    readme_block 1 >"$root/pkg-hello.c"
    # shellcheck disable=SC2046 # pkg-config's output is words by design
    if cc -o "$root/pkg-hello" "$root/pkg-hello.c" $(pkg-config --cflags --libs moss) 2>"$root/cc.log"; then ok
    else fail "the README program builds against the installed libmoss-dev"; show "$root/cc.log"; fi
    if [ -x "$root/pkg-hello" ]; then
        srv_port=$(port)
        "$root/pkg-hello" "127.0.0.1:$srv_port" >"$root/srv.log" 2>&1 &
        srv_pid=$!
        pids="$pids $srv_pid"
        if wait_for 100 answers "$srv_port"; then ok
        else fail "the README program, linked with the installed libmoss0, serves"; show "$root/srv.log"; fi
        kill -TERM "$srv_pid" 2>/dev/null || true
        wait_exit "$srv_pid" 150 || true
    fi
    # the unit, as installed
    unit=""
    for u in /lib/systemd/system/moss.service /usr/lib/systemd/system/moss.service; do
        [ -e "$u" ] && unit=$u && break
    done
    if [ -z "$unit" ]; then
        fail "the moss package installs moss.service"
    elif [ -d /run/systemd/system ]; then
        # systemd runs: the unit itself, on a test port (a drop-in)
        dropin=/run/systemd/system/moss.service.d
        mkdir -p "$dropin"
        started=0
        for _ in 1 2 3; do
            srv_port=$(port)
            printf '[Service]\nExecStart=\nExecStart=%s -b 127.0.0.1:%s --admin off\n' \
                "$(unit_value "$unit" ExecStart)" "$srv_port" >"$dropin/zz-packaging-test.conf"
            systemctl daemon-reload
            if systemctl restart moss.service && wait_for 100 answers "$srv_port"; then started=1; break; fi
        done
        if [ "$started" = 1 ]; then ok
        else fail "systemctl restart moss: the installed unit serves"; systemctl status moss.service | show /dev/stdin; fi
        if systemctl reload moss.service && wait_for 100 answers "$srv_port"; then ok
        else fail "systemctl reload moss"; fi
        if systemctl stop moss.service; then ok; else fail "systemctl stop moss"; fi
        rm -rf "$dropin"
        systemctl daemon-reload
    else
        # no systemd: the unit's ExecStart line, on test ports
        # shellcheck disable=SC2046 # the command line is words by design
        if start_on_free_port $(unit_value "$unit" ExecStart | sed "s|/run/moss/moss.pid|$root/run/pkg.pid|") \
               --admin off -w 1 --drain_grace 0; then ok
        else fail "the installed unit's ExecStart line serves"; fi
        kill -TERM "$srv_pid" 2>/dev/null || true
        if wait_exit "$srv_pid" 150 && [ "$status" -eq 0 ]; then ok
        else fail "the installed moss exits 0 on SIGTERM"; fi
    fi
    if purge_packages; then ok; else fail "dpkg --purge moss libmoss-dev libmoss0"; show "$root/purge.log"; fi
    pkg_installed=0
    for f in /usr/bin/moss /etc/moss/moss.conf /usr/include/moss.h "$unit"; do
        if [ ! -e "$f" ]; then ok; else fail "dpkg --purge left $f"; fi
    done
}

# ---- the Debian package ----------------------------------------------------------------

step="testing the Debian package"
changelog_version=$(sed -n '1s/^moss (\([^)]*\)).*/\1/p' packaging/debian/changelog)
if [ "$changelog_version" = "$version" ]; then ok
else fail "packaging/debian/changelog's version '$changelog_version' is the Makefile's VERSION '$version': add a changelog entry"; fi

deb=$root/deb
if ! have dpkg-buildpackage || ! have dh; then
    skip "the Debian package: dpkg-buildpackage or dh is not installed (Debian packages dpkg-dev, debhelper)"
elif echo "packaging.sh: building the Debian packages (make deb)" &&
     ! make -s deb DEB_DIR="$deb" DEB_BUILD_OPTIONS="nocheck parallel=2" >"$root/deb.log" 2>&1; then
    fail "make deb (dpkg-buildpackage -b -us -uc)"
    show "$root/deb.log" 60
else
    ok
    arch=$(dpkg --print-architecture)
    contents() { dpkg-deb -c "$deb/${1}_${version}_$arch.deb" | awk '{ print $6 }' | sed 's|^\./|/|'; }
    has_files() { # package, paths (a leading * matches /lib and /usr/lib)...
        pkg=$1
        shift
        contents "$pkg" >"$root/contents.txt" || { fail "${pkg}_${version}_$arch.deb was not built"; return; }
        for f in "$@"; do
            if grep -qxE "(/usr)?${f#\*}" "$root/contents.txt"; then ok
            else fail "the $pkg package holds $f"; fi
        done
    }
    multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo "$(uname -m)-linux-gnu")
    has_files moss /usr/bin/moss /etc/moss/moss.conf /etc/logrotate.d/moss \
        '*/lib/systemd/system/moss.service' '*/lib/systemd/system/moss.socket' \
        /usr/share/man/man1/moss.1.gz /usr/share/man/man5/moss.conf.5.gz \
        /usr/share/doc/moss/examples/moss.conf
    has_files libmoss0 "/usr/lib/$multiarch/libmoss.so.0" "/usr/lib/$multiarch/libmoss.so.$version"
    has_files libmoss-dev /usr/include/moss.h "/usr/lib/$multiarch/libmoss.a" \
        "/usr/lib/$multiarch/libmoss.so" "/usr/lib/$multiarch/pkgconfig/moss.pc"
    if dpkg-deb -I "$deb/moss_${version}_$arch.deb" conffiles 2>/dev/null | grep -qx /etc/moss/moss.conf; then ok
    else fail "/etc/moss/moss.conf is a conffile of the moss package"; fi
    if have lintian; then
        if lintian --fail-on error "$deb/moss_${version}_$arch.changes" >"$root/lintian.log" 2>&1; then ok
        else fail "lintian reports errors"; fi
        grep -E '^[EW]: ' "$root/lintian.log" | sed 's/^/    lintian: /' || true
    else
        skip "lintian is not installed (Debian package lintian)"
    fi
    if [ "${CI:-}" = true ] && [ "$(id -u)" -eq 0 ]; then
        step="installing the Debian packages"
        dpkg_test
    else
        skip "dpkg -i of the packages: only in CI (CI=true) as root"
    fi
fi

finished=1
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
