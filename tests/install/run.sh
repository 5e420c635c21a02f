#!/usr/bin/env bash
# Installs the build into a scratch prefix and builds programs against the
# installed tree only: C through pkg-config (shared and static), CMake's
# find_package and dlopen, and C++ (the header-only ssekit.hpp) through
# pkg-config and find_package.
set -euo pipefail
build=$1
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
cc=${CC:-cc}
cxx=${CXX:-c++}
# The warnings a strict C++ project builds with: the header must pass them.
cxxflags=(-std=c++17 -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
  -Wold-style-cast -Wnon-virtual-dtor -Werror)

cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(dirname "$(find "$prefix" -name ssekit.pc)")/..
export PKG_CONFIG_PATH=$libdir/pkgconfig

test -f "$prefix/include/ssekit.h"
test -f "$prefix/include/ssekit.hpp"
test -L "$libdir/libssekit.so"
test -f "$libdir/libssekit.a"
[ "$(objdump -p "$libdir/libssekit.so" | awk '/SONAME/ {print $2}')" = libssekit.so.0 ]
[ "$(pkg-config --modversion ssekit)" = "$(sed -n 's/^#define SSEKIT_VERSION_STRING "\(.*\)"/\1/p' "$prefix/include/ssekit.h")" ]

# shellcheck disable=SC2046
"$cc" -std=c11 -Wall -Wextra -Werror -o "$work/pc_shared" "$here/consumer.c" \
  $(pkg-config --cflags --libs ssekit) -Wl,-rpath,"$libdir"
"$work/pc_shared"

# shellcheck disable=SC2046
"$cxx" "${cxxflags[@]}" -o "$work/pc_hpp" "$here/hpp_consumer.cc" \
  $(pkg-config --cflags --libs ssekit) -pthread -Wl,-rpath,"$libdir"
"$work/pc_hpp"

# ssekit linked statically against the system's shared libcurl, as users of
# a distribution's libcurl do (pkg-config --static would also want libcurl's
# own static dependencies).
# shellcheck disable=SC2046
"$cc" -std=c11 -Wall -Wextra -Werror -o "$work/pc_static" "$here/consumer.c" \
  $(pkg-config --cflags ssekit) "$libdir/libssekit.a" $(pkg-config --libs libcurl) \
  -lstdc++ -lm -pthread
"$work/pc_static"
if ldd "$work/pc_static" | grep -q libssekit; then
  echo "static consumer depends on libssekit.so" >&2
  exit 1
fi

cmake -S "$here/cmake-consumer" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_RPATH="$libdir" >/dev/null
cmake --build "$work/cmake" >/dev/null
"$work/cmake/consumer_shared"
"$work/cmake/consumer_static"
"$work/cmake/hpp_consumer"

"$cc" -std=c11 -Wall -Wextra -Werror -o "$work/dl" "$here/dlopen_consumer.c" \
  -I"$prefix/include" -ldl
"$work/dl" "$libdir/libssekit.so.0"
echo "install consumers ok"
