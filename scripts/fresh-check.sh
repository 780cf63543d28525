#!/usr/bin/env bash
# fresh-check.sh — proves the README's two commands on a clean Debian 12 root: debootstrap makes
# the root, a `git archive` of HEAD goes into it, and each command runs there under chroot exactly
# as the README writes it, with no standard input and a clean environment.
#
# usage: scripts/fresh-check.sh [--dir DIR] [--mirror URL] [--keep]
#
# Needs root (debootstrap, mount, chroot) and the Debian archive; installs debootstrap if missing.
# Time and disk it takes: docs/fresh-check.md (about 15 min idle, an hour on a busy machine). What is
# checked is the commit HEAD, not the working tree. The root is made anew on every run and
# deleted at the end unless --keep; the logs stay in DIR.
set -euo pipefail
# The whole script is one block, which bash reads before running it: a run takes an hour, and
# bash reads a plain script as it goes, so editing or checking out the file meanwhile (a branch
# switch) would run a mix of both versions.
{
usage="usage: scripts/fresh-check.sh [--dir DIR] [--mirror URL] [--keep]"
die_usage() { echo "fresh-check: error: $* (see --help)" >&2; exit 2; }
die() { echo "fresh-check: error: $*" >&2; exit 1; }
log() { printf '== fresh-check: %s\n' "$*"; }

EC_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=/var/tmp/edgecc-fresh
MIRROR=http://deb.debian.org/debian
KEEP=0
while [ $# -gt 0 ]; do
  case $1 in
    --dir) [ $# -ge 2 ] && [ -n "$2" ] || die_usage "--dir needs a folder"; WORK=$2; shift 2 ;;
    --mirror) [ $# -ge 2 ] && [ -n "$2" ] || die_usage "--mirror needs a URL"; MIRROR=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help)
      echo "$usage"
      echo "Makes a clean Debian 12 root (debootstrap --variant=minbase bookworm) in DIR/root, copies"
      echo "a git archive of HEAD into it and runs the README's two commands there with chroot."
      echo "  --dir DIR     work folder (default /var/tmp/edgecc-fresh); logs stay in it"
      echo "  --mirror URL  Debian mirror for debootstrap and the root's apt (default $MIRROR)"
      echo "  --keep        keep DIR/root after the run (default: delete it)"
      exit 0 ;;
    *) die_usage "unknown argument '$1'" ;;
  esac
done

[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap, mount and chroot need it)"
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
ROOT=$WORK/root
SRC=/root/edgecc   # where the repository lands inside the root, as a user's clone would

# The README's two commands: the first ```sh block of README.md, comments stripped.
mapfile -t COMMANDS < <(awk '/^```sh$/ {inb = 1; next} inb && /^```/ {exit} inb' "$EC_ROOT/README.md" |
                        sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d')
[ ${#COMMANDS[@]} -eq 2 ] || die "README.md's first sh block holds ${#COMMANDS[@]} commands, expected 2"

# Mounts under the root, from /proc/self/mountinfo (field 5 is the mount point).
mounts_under() { awk -v r="$1" '$5 == r || index($5, r "/") == 1 {print $5}' /proc/self/mountinfo; }

# Undoes the mounts, deepest first, after stopping whatever still runs inside the root: an
# interrupted run leaves no mount behind, and a root is never deleted while a mount is in it.
cleanup() {
  local rc=$? sig pid n t
  trap - EXIT INT TERM HUP
  if [ -n "$phase" ]; then  # stopped midway: what had finished, and how far the rest got
    for t in ${times[@]+"${times[@]}"}; do log "$t"; done
    log "$phase: stopped after $((SECONDS - start)) s (exit $rc)"
  fi
  if [ -n "$boot_pid" ]; then  # debootstrap's group: it runs outside the root
    kill -TERM -- -"$boot_pid" 2>/dev/null || true
    wait "$boot_pid" 2>/dev/null || true
  fi
  # Processes whose root is ours (by id, nothing else): TERM, up to 10 s to go, then KILL.
  in_root() { find /proc -mindepth 2 -maxdepth 2 -name root -type l -lname "$ROOT" 2>/dev/null |
                cut -d/ -f3; }
  for sig in TERM KILL; do
    for pid in $(in_root); do kill -"$sig" "$pid" 2>/dev/null || true; done
    for n in 1 2 3 4 5 6 7 8 9 10; do [ -z "$(in_root)" ] && break; sleep 1; done
  done
  local m pass
  for pass in 1 2 3; do   # stacked mounts on one point need one umount each
    for m in $(mounts_under "$ROOT" | sort -ru); do
      umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done
  done
  if [ -n "$(mounts_under "$ROOT")" ]; then
    echo "fresh-check: could not unmount $(mounts_under "$ROOT" | tr '\n' ' '); not deleting $ROOT" >&2
    rc=1
  elif [ "$KEEP" = 0 ] && [ -d "$ROOT" ]; then
    rm -rf --one-file-system "$ROOT"
  fi
  exit "$rc"
}
phase="" times=() boot_pid=""
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

[ -z "$(mounts_under "$ROOT")" ] || die "$ROOT still has mounts from an earlier run: $(mounts_under "$ROOT" | tr '\n' ' ')"
rm -rf --one-file-system "$ROOT"

if ! command -v debootstrap >/dev/null; then
  log "apt-get install debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap </dev/null
fi

commit=$(git -C "$EC_ROOT" rev-parse HEAD)
[ -z "$(git -C "$EC_ROOT" status --porcelain --untracked-files=no)" ] ||
  log "note: the working tree has uncommitted changes; checking HEAD ($commit) only"

SECONDS=0
start=0 phase=debootstrap
log "debootstrap --variant=minbase bookworm $ROOT $MIRROR"
# Its own process group, in the background: a signal reaches the trap at once, which stops it.
setsid debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 </dev/null &
boot_pid=$!
wait "$boot_pid" ||
  { boot_pid=""; tail -n 20 "$WORK/debootstrap.log" >&2; die "debootstrap failed (log: $WORK/debootstrap.log)"; }
boot_pid=""
t_boot=$SECONDS

# What a Debian 12 installer writes: the release, its updates and its security archive.
cat > "$ROOT/etc/apt/sources.list" <<EOF
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb ${MIRROR%/debian}/debian-security bookworm-security main
EOF
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
# Like resolv.conf, this machine's network goes in, not its packages: behind a proxy that inspects
# TLS, npm (fetching onnxruntime-node for the tests that compare with ONNX Runtime) trusts the
# registry only with the proxy's CA, which this machine names in NODE_EXTRA_CA_CERTS.
extra_env=()
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then
  cp "$NODE_EXTRA_CA_CERTS" "$ROOT/etc/edgecc-fresh-extra-ca.crt"
  extra_env=(NODE_EXTRA_CA_CERTS=/etc/edgecc-fresh-extra-ca.crt)
  log "this machine's NODE_EXTRA_CA_CERTS goes into the root's environment (HTTPS through a proxy)"
fi
mount -t proc proc "$ROOT/proc"
# /sys: cpuinfo reads /sys/devices/system/cpu/possible, and xnn_initialize fails without it.
mount --rbind /sys "$ROOT/sys"; mount --make-rslave "$ROOT/sys"
mount --rbind /dev "$ROOT/dev"; mount --make-rslave "$ROOT/dev"

mkdir -p "$ROOT$SRC"
git -C "$EC_ROOT" archive --format=tar HEAD | tar -x -C "$ROOT$SRC"
log "copied git archive of $commit into $ROOT$SRC"

times=("debootstrap ${t_boot} s")
status=0
for cmd in "${COMMANDS[@]}"; do
  name=$(basename "${cmd%% *}" .sh)
  log "chroot: cd $SRC && $cmd   (log: $WORK/$name.log)"
  start=$SECONDS phase=$cmd
  # In the background and waited for: a signal then reaches the trap at once (bash runs traps only
  # between foreground commands), and cleanup stops what runs inside the root.
  (chroot "$ROOT" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
     ${extra_env[@]+"${extra_env[@]}"} /bin/bash -c "cd $SRC && $cmd" 2>&1 | tee "$WORK/$name.log"; exit "${PIPESTATUS[0]}") </dev/null &
  rc=0
  wait $! || rc=$?
  t=$((SECONDS - start))
  if [ "$rc" -eq 0 ]; then
    times+=("$cmd $t s ok")
  else
    times+=("$cmd $t s FAILED (exit $rc)")
    status=1   # command 2 still runs: a new user would try it, and it installs and builds on its own
  fi
done

phase=""
# A test that a missing package turns off proves nothing, and neither does a check that missed
# it: the fresh root must register every test this machine registers for the same commit (a
# tests.cmake that leaves tests out when a tool is missing shows up here), and skip none.
list_tests() { sed -n 's/^ *Test *#[0-9]*: //p' | sort; }
if [ -f "$ROOT$SRC/build/CTestTestfile.cmake" ]; then
  rm -rf "$WORK/host-src" "$WORK/host-build"
  mkdir -p "$WORK/host-src"
  # the commit checked, not HEAD now: commits made during the hour-long run add tests
  git -C "$EC_ROOT" archive --format=tar "$commit" | tar -x -C "$WORK/host-src"
  cmake -S "$WORK/host-src" -B "$WORK/host-build" -G Ninja >"$WORK/host-configure.log" 2>&1 ||
    die "configuring $commit on this machine failed (log: $WORK/host-configure.log)"
  (cd "$WORK/host-build" && ctest -N -LE 'slow|fresh') | list_tests > "$WORK/tests-host.txt"
  chroot "$ROOT" /bin/sh -c "cd $SRC/build && ctest -N -LE 'slow|fresh'" </dev/null | list_tests > "$WORK/tests-fresh.txt"
  lost=$(comm -23 "$WORK/tests-host.txt" "$WORK/tests-fresh.txt")
  if [ -n "$lost" ]; then
    times+=("$(echo "$lost" | wc -l) tests registered on this machine are missing in the fresh root: $(echo $lost)")
    status=1
  else
    times+=("$(wc -l < "$WORK/tests-fresh.txt") tests registered, as on this machine")
  fi
  skipped=$(sed -n '/tests did not run:/,/^$/s/^[[:space:]]*[0-9]* - \(.*\) (Skipped)$/\1/p' "$WORK/test.log" 2>/dev/null || true)
  if [ -n "$skipped" ]; then
    times+=("skipped in the fresh root: $(echo $skipped)")
    status=1
  fi
fi

log "commit $commit"
for t in "${times[@]}"; do log "$t"; done
if [ $status -eq 0 ]; then log "PASS: both README commands succeeded on a fresh Debian 12 root"; else log "FAIL"; fi
exit $status
}
