# lib.sh — shared by scripts/setup.sh and scripts/test.sh: installs the Debian packages edgecc
# needs (only those missing) and builds the project. Source it; do not run it.

EC_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
EC_BUILD=${EC_BUILD:-$EC_ROOT/build}

# Every Debian package edgecc needs, from the one list (comments and blank lines skipped); an
# entry NAME=COMMAND stays whole here (ec_install_deps reads it).
ec_packages() { sed -e 's/#.*//' "$EC_ROOT/scripts/packages.txt" | tr -s ' \t' '\n\n' | grep -v '^$'; }
mapfile -t EC_PACKAGES < <(ec_packages)

ec_log() { printf '== %s\n' "$*"; }

ec_install_deps() {
  local missing=()
  local e p cmd
  for e in "${EC_PACKAGES[@]}"; do
    p=${e%%=*} cmd=""
    [ "$p" = "$e" ] || cmd=${e#*=}
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' && continue
    [ -n "$cmd" ] && command -v "$cmd" >/dev/null && continue  # provided another way (NodeSource's npm)
    missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    ec_log "all ${#EC_PACKAGES[@]} Debian packages present"
    return 0
  fi
  ec_log "installing ${#missing[@]} missing Debian packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${missing[@]}" </dev/null
}

ec_build() {
  ec_log "configuring and building in $EC_BUILD"
  cmake -S "$EC_ROOT" -B "$EC_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$EC_BUILD" -j "$(nproc)"
}
