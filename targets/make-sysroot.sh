#!/bin/sh
# make-sysroot.sh — builds an aarch64 sysroot (XNNPACK, pthreadpool, cpuinfo, OpenBLAS) from Debian's
# own :arm64 packages with `apt-get download` + `dpkg -x`, for cross-building edgecc's output folders.
#
# usage: targets/make-sysroot.sh DIR [--update]
#
# Never `apt-get install` these :arm64 packages: they are not multi-arch, and installing them
# removes the host's XNNPACK, pthreadpool and python3-torch. The C library and crt files come
# from gcc-aarch64-linux-gnu's /usr/aarch64-linux-gnu, which the toolchain file adds itself.
#
# Idempotent and cached: the .deb files stay in DIR/.debs and each one is unpacked once (a stamp
# per package records it); a second run with everything in place does no network access.
# `--update` forces `apt-get update` (otherwise it runs only when the arm64 lists are missing).
set -eu

ARCH=arm64
TRIPLE=aarch64-linux-gnu
# Runtime and development packages; libgfortran5 because Debian's OpenBLAS links it (the
# cross toolchain's own folder has libgcc_s and libgomp but no libgfortran).
PACKAGES="libxnnpack-dev libxnnpack0 libpthreadpool-dev libpthreadpool0 libcpuinfo-dev libcpuinfo0
libopenblas-dev libopenblas-pthread-dev libopenblas0 libopenblas0-pthread libgfortran5"

die() { echo "make-sysroot: error: $*" >&2; exit 1; }

[ $# -ge 1 ] || die "usage: $0 DIR [--update]"
DIR=$1
UPDATE=0
[ "${2:-}" = "--update" ] && UPDATE=1

mkdir -p "$DIR/.debs" "$DIR/.stamps"
DIR=$(cd "$DIR" && pwd)
LIB=usr/lib/$TRIPLE
NEEDED="$LIB/libXNNPACK.so $LIB/libpthreadpool.so $LIB/libcpuinfo.so.0 $LIB/libopenblas.so.0 usr/include/xnnpack.h usr/include/cblas.h"

# Fast path: a finished sysroot for the same package list is reused without touching apt.
if [ $UPDATE = 0 ] && [ "$(cat "$DIR/.stamps/complete" 2>/dev/null)" = "$(echo $PACKAGES)" ]; then
  ok=1
  for f in $NEEDED; do [ -e "$DIR/$f" ] || ok=0; done
  if [ $ok = 1 ]; then echo "make-sysroot: $DIR is up to date"; exit 0; fi
fi
rm -f "$DIR/.stamps/complete"

if ! dpkg --print-foreign-architectures | grep -qx "$ARCH"; then
  [ "$(id -u)" = 0 ] || die "run once as root: dpkg --add-architecture $ARCH && apt-get update"
  echo "make-sysroot: dpkg --add-architecture $ARCH"
  dpkg --add-architecture "$ARCH"
  UPDATE=1
fi
if ! ls /var/lib/apt/lists/*_binary-"$ARCH"_Packages* >/dev/null 2>&1; then UPDATE=1; fi
if [ $UPDATE = 1 ]; then
  [ "$(id -u)" = 0 ] || die "the $ARCH package lists are missing: run as root: apt-get update"
  echo "make-sysroot: apt-get update"
  apt-get update -qq || die "apt-get update failed"
fi

# Download what is not cached yet (apt-get download fetches the candidate version; the file name
# carries the version, so a point release gets a new file and a new unpack).
cd "$DIR/.debs"
for p in $PACKAGES; do
  v=$(apt-cache policy "$p:$ARCH" | sed -n 's/^ *Candidate: //p')
  [ -n "$v" ] && [ "$v" != "(none)" ] || die "no candidate for $p:$ARCH (is the $ARCH list present? try --update)"
  vf=$(printf %s "$v" | sed 's/:/%3a/')
  if ! ls "${p}_${vf}_"*.deb >/dev/null 2>&1; then
    echo "make-sysroot: apt-get download $p:$ARCH ($v)"
    apt-get download -qq "$p:$ARCH=$v" 2>&1 | grep -v 'unsandboxed' >&2 || true
    ls "${p}_${vf}_"*.deb >/dev/null 2>&1 || die "download of $p:$ARCH failed"
  fi
done

# Unpack each .deb once.
for deb in *.deb; do
  if [ ! -e "$DIR/.stamps/$deb" ]; then
    echo "make-sysroot: dpkg -x $deb"
    dpkg -x "$deb" "$DIR"
    : > "$DIR/.stamps/$deb"
  fi
done
cd "$DIR"

# Absolute symlinks inside the packages would point into the host: make them relative.
find usr -type l | while read -r l; do
  t=$(readlink "$l")
  case $t in
    /*) ln -sfn "$(realpath -m --relative-to="$(dirname "$l")" "$DIR$t")" "$l" ;;
  esac
done

# What Debian's update-alternatives does on a board: the default BLAS and its headers.
OB=$LIB/openblas-pthread
for f in libopenblas.so libopenblas.so.0 libblas.so libblas.so.3; do
  [ -e "$OB/$f" ] && ln -sfn "openblas-pthread/$f" "$LIB/$f"
done
for h in cblas.h f77blas.h openblas_config.h; do
  [ -e "usr/include/$TRIPLE/openblas-pthread/$h" ] && ln -sfn "$TRIPLE/openblas-pthread/$h" "usr/include/$h"
done

# Sanity: the libraries edgecc's output links must be here.
for f in $NEEDED; do
  [ -e "$f" ] || die "$DIR/$f is missing after unpacking"
done
echo $PACKAGES > .stamps/complete
du -sk .debs | awk '{printf "make-sysroot: %s ready (%d packages, %.1f MB of .deb files)\n", d, n, $1/1024}' d="$DIR" n="$(ls .debs | wc -l)"
