#!/bin/sh
# `make install` into a scratch DESTDIR, then the README's greenlet example,
# compiled against the installed header and shared library, must build, run
# and print what the example promises. Ends with "N passed, N failed".
set -u
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); printf 'FAIL %s\n' "$1"; }

prefix=/usr/local
if make -s install DESTDIR="$root" PREFIX="$prefix" >"$root/install.log" 2>&1; then ok; else fail "make install"; cat "$root/install.log"; fi
for f in bin/moss include/moss.h lib/libmoss.a lib/libmoss.so; do
    if [ -e "$root$prefix/$f" ]; then ok; else fail "installed $f"; fi
done
soname=$(objdump -p "$root$prefix/lib/libmoss.so" | awk '/SONAME/{print $2}')
if [ "$soname" = libmoss.so.0 ]; then ok; else fail "soname is '$soname'"; fi

# The README's C block, with a print of the result appended.
awk '/^```c$/{f=1; next} /^```$/{f=0} f' README.md |
    sed 's|    moss_greenlet_free(g);|    printf("%s\\n", (char *)out);\n    moss_greenlet_free(g);|' \
    >"$root/example.c"
sed -i '1i #include <stdio.h>' "$root/example.c"
if cc -o "$root/example" "$root/example.c" -I"$root$prefix/include" -L"$root$prefix/lib" -lmoss \
        -Wl,-rpath,"$root$prefix/lib" 2>"$root/cc.log"; then ok; else fail "README example compiles"; cat "$root/cc.log"; fi
out=$("$root/example" 2>&1)
if [ "$out" = bye ]; then ok; else fail "README example prints 'bye' (got '$out')"; fi

if make -s uninstall DESTDIR="$root" PREFIX="$prefix" >/dev/null 2>&1 &&
   [ -z "$(find "$root$prefix" -type f)" ]; then ok; else fail "make uninstall leaves no files"; fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
