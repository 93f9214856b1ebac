#!/bin/sh
# `make install` into a scratch DESTDIR, then:
#   - every file install writes is there (the soname's symlinks, moss.pc, the
#     man pages, the example config, the units), with PREFIX in its paths;
#   - libmoss.so exports the public API only (nm -D: moss_*, never moss__*),
#     every function of moss.h among it;
#   - every C example in the README, compiled against the installed header
#     and library (with -I/-L as the README says, and again with nothing but
#     `pkg-config --cflags --libs moss`, shared and --static), builds and
#     does what the README says: the moss_serve program and the --app plugin
#     answer curl, the greenlet example prints its result;
#   - a second install keeps a changed configuration, and uninstall removes
#     everything else.
# Ends with "N passed, N failed".
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

version=$(sed -n 's/^VERSION *:= *//p' Makefile)
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
    for _ in 1 2 3 4 5; do
        port=$(shuf -i 20000-60000 -n 1)
        "$@" "127.0.0.1:$port" >"$root/server.log" 2>&1 &
        server_pid=$!
        pids="$pids $server_pid"
        for _ in $(seq 1 50); do
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

stop_server() { # expects a clean exit on SIGTERM (a drain: drain_grace, 5 s by default)
    kill -TERM "$server_pid" && wait "$server_pid"
}
stop_server_fast() { # expects a clean exit on SIGINT (no drain)
    kill -INT "$server_pid" && wait "$server_pid"
}

if make -s install DESTDIR="$root" PREFIX="$prefix" >"$root/install.log" 2>&1; then ok; else fail "make install"; cat "$root/install.log"; fi
for f in bin/moss include/moss.h lib/libmoss.a "lib/libmoss.so.$version" lib/pkgconfig/moss.pc \
         share/man/man1/moss.1 share/man/man5/moss.conf.5 share/doc/moss/examples/moss.conf \
         etc/moss/moss.conf lib/systemd/system/moss.service lib/systemd/system/moss.socket; do
    if [ -f "$inst/$f" ]; then ok; else fail "installed $f"; fi
done
for link in "libmoss.so libmoss.so.0" "libmoss.so.0 libmoss.so.$version"; do
    name=${link% *} target=${link#* }
    if [ "$(readlink "$inst/lib/$name")" = "$target" ]; then ok; else fail "lib/$name is a symlink to $target"; fi
done
soname=$(objdump -p "$inst/lib/libmoss.so" | awk '/SONAME/{print $2}')
if [ "$soname" = libmoss.so.0 ]; then ok; else fail "soname is '$soname'"; fi
# PREFIX, not /usr, in what install wrote
if grep -qx "ExecStart=$prefix/bin/moss -c $prefix/etc/moss/moss.conf --pid /run/moss/moss.pid" \
       "$inst/lib/systemd/system/moss.service"; then ok
else fail "moss.service's ExecStart names $prefix/bin/moss and $prefix/etc/moss/moss.conf"; fi
if grep -qF "$prefix/etc/moss/moss.conf" "$inst/share/man/man1/moss.1" &&
   ! grep -q '@VERSION@' "$inst/share/man/man1/moss.1" "$inst/share/man/man5/moss.conf.5"; then ok
else fail "the man pages name $prefix/etc/moss/moss.conf and the version"; fi

# Only the public API is exported: moss_*, never moss__* (internal), and
# every function moss.h declares.
nm -D --defined-only "$inst/lib/libmoss.so" | awk '{ print $NF }' | sort -u >"$root/exported"
bad=$(grep -v '^moss_[a-z0-9]' "$root/exported" | head -n 5 | tr '\n' ' ')
if [ -s "$root/exported" ] && [ -z "$bad" ]; then ok
else fail "libmoss.so exports only moss_* (not moss__*): also exports: $bad"; fi
grep -oE '\bmoss_[a-z0-9_]+ *\(' "$inst/include/moss.h" | sed 's/ *($//' | sort -u >"$root/declared"
missing=$(comm -23 "$root/declared" "$root/exported" | head -n 5 | tr '\n' ' ')
if [ -s "$root/declared" ] && [ -z "$missing" ]; then ok
else fail "libmoss.so exports every function of moss.h: missing $missing"; fi

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

# ---- pkg-config: the same examples, built with nothing but moss.pc --------------

# moss.pc names /usr/local: PKG_CONFIG_SYSROOT_DIR puts the DESTDIR before it.
export PKG_CONFIG_PATH="$inst/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$root"
pc() { pkg-config "$@" 2>"$root/pc.log" || { cat "$root/pc.log"; return 1; }; }
if [ "$(pc --modversion moss)" = "$version" ]; then ok; else fail "pkg-config --modversion moss is $version"; fi
if [ "$(env -u PKG_CONFIG_SYSROOT_DIR pkg-config --variable=prefix moss)" = "$prefix" ]; then ok
else fail "moss.pc's prefix is $prefix"; fi
if [ "$(pc --print-requires-private moss | tr '\n' ' ')" = "jansson inih " ]; then ok
else fail "moss.pc: Requires.private: jansson inih (they have .pc files)"; fi
libs=$(pc --libs moss) static_libs=$(pc --static --libs moss)
case " $libs " in
*" -lmoss "*) case $libs in *-lev* | *-lhttp_parser* | *-ljansson* | *-linih*) fail "pkg-config --libs moss leaks private libraries: $libs" ;; *) ok ;; esac ;;
*) fail "pkg-config --libs moss has -lmoss: $libs" ;;
esac
for l in -lmoss -lev -lhttp_parser -ljansson -linih; do
    case " $static_libs " in *" $l "*) ok ;; *) fail "pkg-config --static --libs moss has $l: $static_libs" ;; esac
done
pc_compile() { # output, source, "pkg-config flags", cc flags...
    out=$1 src=$2 pcflags=$3
    shift 3
    # shellcheck disable=SC2086 # words by design
    flags=$(pc $pcflags moss) || return 1
    # shellcheck disable=SC2086
    if ! cc -o "$out" "$src" "$@" $flags 2>"$root/cc.log"; then
        cat "$root/cc.log"
        return 1
    fi
}

# the moss_serve program, linked with libmoss.so (found at run time through
# LD_LIBRARY_PATH: the DESTDIR is not where the library will live)
if pc_compile "$root/hello-pc" "$root/hello.c" "--cflags --libs"; then ok
else fail "README moss_serve example builds with \$(pkg-config --cflags --libs moss)"; fi
if readelf -d "$root/hello-pc" 2>/dev/null | grep -q 'NEEDED.*\[libmoss\.so\.0\]'; then ok
else fail "the pkg-config build of the moss_serve example needs libmoss.so.0"; fi
export LD_LIBRARY_PATH="$inst/lib"
if start_server "$root/hello-pc"; then
    body=$(curl -s "http://127.0.0.1:$port/")
    if [ "$body" = "hello from my app" ]; then ok; else fail "pkg-config moss_serve example answers (got '$body')"; fi
    if stop_server_fast; then ok; else fail "pkg-config moss_serve example exits 0 on SIGINT"; fi
else
    fail "pkg-config moss_serve example starts"
fi
unset LD_LIBRARY_PATH
# static: Libs.private and Requires.private must name every library
if pc_compile "$root/hello-static" "$root/hello.c" "--static --cflags --libs" -static; then ok
else fail "README moss_serve example links -static with \$(pkg-config --static --cflags --libs moss)"; fi
if [ -x "$root/hello-static" ] && ! readelf -d "$root/hello-static" 2>/dev/null | grep -q NEEDED; then ok
else fail "the -static build needs no shared library"; fi
if start_server "$root/hello-static"; then
    body=$(curl -s "http://127.0.0.1:$port/")
    if [ "$body" = "hello from my app" ]; then ok; else fail "static moss_serve example answers (got '$body')"; fi
    if stop_server_fast; then ok; else fail "static moss_serve example exits 0 on SIGINT"; fi
else
    fail "static moss_serve example starts"
fi
# plugins: cflags only (the moss binary provides moss_*), and with --libs too
if pc_compile "$root/libhello-pc.so" "$root/plugin.c" "--cflags" -shared -fPIC &&
   pc_compile "$root/libhello-pclibs.so" "$root/plugin.c" "--cflags --libs" -shared -fPIC; then ok
else fail "README plugin example builds with \$(pkg-config --cflags [--libs] moss)"; fi
# (the --libs one needs libmoss.so.0, which the DESTDIR holds)
export LD_LIBRARY_PATH="$inst/lib"
for plugin in libhello-pc.so libhello-pclibs.so; do
    if start_server "$inst/bin/moss" --app "$root/$plugin" --admin off --drain_grace 0 -b; then
        body=$(curl -s "http://127.0.0.1:$port/")
        if [ "$body" = "hello from a plugin" ]; then ok; else fail "$plugin answers (got '$body')"; fi
        if stop_server; then ok; else fail "moss --app $plugin exits 0 on SIGTERM"; fi
    else
        fail "moss --app $plugin (built with pkg-config) starts"
    fi
done
unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR LD_LIBRARY_PATH

# ---- reinstall, uninstall ----------------------------------------------------------

conf=$inst/etc/moss/moss.conf
echo "workers = 2" >>"$conf"
if make -s install DESTDIR="$root" PREFIX="$prefix" >"$root/install.log" 2>&1 && grep -qx 'workers = 2' "$conf"; then ok
else fail "make install again keeps a changed etc/moss/moss.conf"; cat "$root/install.log"; fi
if make -s uninstall DESTDIR="$root" PREFIX="$prefix" >"$root/uninstall.log" 2>&1 &&
   [ "$(find "$inst" ! -type d)" = "$conf" ]; then ok
else fail "make uninstall removes all but the changed etc/moss/moss.conf: left $(find "$inst" ! -type d | tr '\n' ' ')"; fi
rm -f "$conf"
if make -s install DESTDIR="$root" PREFIX="$prefix" >"$root/install.log" 2>&1 &&
   make -s uninstall DESTDIR="$root" PREFIX="$prefix" >/dev/null 2>&1 &&
   [ -z "$(find "$inst" ! -type d)" ] && [ ! -d "$inst/etc/moss" ] && [ ! -d "$inst/share/doc/moss" ]; then ok
else fail "make uninstall leaves no files (nor moss's own directories): left $(find "$inst" ! -type d | tr '\n' ' ')"; fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
