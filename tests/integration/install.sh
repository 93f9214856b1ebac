#!/bin/sh
# `make install` into a scratch DESTDIR, then every C example in the README,
# compiled against the installed header and library, must build and do what
# the README says: the moss_serve program and the --app plugin answer curl,
# the greenlet example prints its result. Ends with "N passed, N failed".
set -u
root=$(mktemp -d)
pids=""
cleanup() {
    for pid in $pids; do kill -TERM "$pid" 2>/dev/null; done
    for pid in $pids; do wait "$pid" 2>/dev/null; done
    rm -rf "$root"
}
trap cleanup EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); printf 'FAIL %s\n' "$1"; }

# The README's Nth ```c block.
readme_block() { awk -v n="$1" '/^```c$/{k++; if (k == n) {f = 1; next}} /^```$/{f = 0} f' README.md; }

prefix=/usr/local
inst=$root$prefix
compile() { # output, source, extra flags...
    out=$1 src=$2
    shift 2
    cc -o "$out" "$src" -I"$inst/include" -L"$inst/lib" -Wl,-rpath,"$inst/lib" "$@" \
        2>"$root/cc.log" || { cat "$root/cc.log"; return 1; }
}

# Starts a server command on a free loopback port and waits until GET /
# answers; sets port and server_pid. Tries a few ports: one may be taken.
start_server() {
    for try in 1 2 3 4 5; do
        port=$(shuf -i 20000-60000 -n 1)
        "$@" "127.0.0.1:$port" >"$root/server.log" 2>&1 &
        server_pid=$!
        pids="$pids $server_pid"
        for i in $(seq 1 50); do
            curl -s -o /dev/null "http://127.0.0.1:$port/" && return 0
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -TERM "$server_pid" 2>/dev/null
        wait "$server_pid" 2>/dev/null
    done
    cat "$root/server.log"
    return 1
}

stop_server() { # expects a clean exit on SIGTERM
    kill -TERM "$server_pid" && wait "$server_pid"
}

if make -s install DESTDIR="$root" PREFIX="$prefix" >"$root/install.log" 2>&1; then ok; else fail "make install"; cat "$root/install.log"; fi
for f in bin/moss include/moss.h lib/libmoss.a lib/libmoss.so; do
    if [ -e "$inst/$f" ]; then ok; else fail "installed $f"; fi
done
soname=$(objdump -p "$inst/lib/libmoss.so" | awk '/SONAME/{print $2}')
if [ "$soname" = libmoss.so.0 ]; then ok; else fail "soname is '$soname'"; fi

# 1: a program calling moss_serve.
readme_block 1 >"$root/hello.c"
if compile "$root/hello" "$root/hello.c" -lmoss; then ok; else fail "README moss_serve example compiles"; fi
if start_server "$root/hello"; then
    body=$(curl -s -D "$root/headers" "http://127.0.0.1:$port/some/path")
    if [ "$body" = "hello from my app" ] && grep -qi '^X-Path: /some/path' "$root/headers"; then ok
    else fail "moss_serve example answers (got '$body')"; fi
    if stop_server; then ok; else fail "moss_serve example exits 0 on SIGTERM"; fi
else
    fail "moss_serve example starts"
fi

# 2: a plugin, served by the installed moss.
readme_block 2 >"$root/plugin.c"
if compile "$root/libhello.so" "$root/plugin.c" -shared -fPIC; then ok; else fail "README plugin example compiles"; fi
if start_server "$inst/bin/moss" --app "$root/libhello.so" --admin off --drain_grace 0 -b; then
    body=$(curl -s "http://127.0.0.1:$port/")
    if [ "$body" = "hello from a plugin" ]; then ok; else fail "plugin answers (got '$body')"; fi
    if stop_server; then ok; else fail "moss --app exits 0 on SIGTERM"; fi
else
    fail "moss --app with the README plugin starts"
fi

# 3: the greenlet example, with a print of its result appended.
readme_block 3 | sed 's|    moss_greenlet_free(g);|    printf("%s\\n", (char *)out);\n    moss_greenlet_free(g);|' \
    >"$root/greenlet.c"
sed -i '1i #include <stdio.h>' "$root/greenlet.c"
if compile "$root/greenlet" "$root/greenlet.c" -lmoss; then ok; else fail "README greenlet example compiles"; fi
out=$("$root/greenlet" 2>&1)
if [ "$out" = bye ]; then ok; else fail "README greenlet example prints 'bye' (got '$out')"; fi

if make -s uninstall DESTDIR="$root" PREFIX="$prefix" >/dev/null 2>&1 &&
   [ -z "$(find "$inst" -type f)" ]; then ok; else fail "make uninstall leaves no files"; fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
