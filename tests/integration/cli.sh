#!/bin/sh
# The moss command line as a user meets it: -v, -h, and a bad flag.
# Ends with "N passed, N failed"; exits non-zero on any failure.
set -u
bin=${MOSS_BIN:?MOSS_BIN must name the moss binary}
passed=0 failed=0

expect() { # name, expected exit code, expected output fragment, command...
    name=$1 code=$2 fragment=$3
    shift 3
    out=$("$@" 2>&1)
    rc=$?
    if [ "$rc" -eq "$code" ] && printf '%s' "$out" | grep -qF -- "$fragment"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        printf 'FAIL %s: exit %s (want %s), output:\n%s\n' "$name" "$rc" "$code" "$out"
    fi
}

version=$(sed -n 's/^#define MOSS_VERSION "\(.*\)"$/\1/p' include/moss.h)
expect version 0 "moss $version" "$bin" -v
expect version-long 0 "moss $version" "$bin" --version
expect help 0 "usage: moss" "$bin" -h
expect unknown-flag 2 "unknown argument '--bogus'" "$bin" --bogus
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
