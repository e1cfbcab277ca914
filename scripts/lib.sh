# Shared by scripts/run and scripts/test: checks for what a build needs and installs
# what can be installed. Sourced, not run.

set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Prints how long the previous stage took and starts the next one.
STAGE_NAME=""
STAGE_START=0
stage() {
  local now
  now=$(date +%s)
  if [ -n "$STAGE_NAME" ]; then
    printf '==> %s took %ds\n' "$STAGE_NAME" $((now - STAGE_START))
  fi
  STAGE_NAME="${1:-}"
  STAGE_START=$now
  if [ -n "$STAGE_NAME" ]; then
    printf '==> %s\n' "$STAGE_NAME"
  fi
}

need() {
  command -v "$1" >/dev/null 2>&1 || { echo "plenum: $1 is missing: $2" >&2; exit 1; }
}

# Installs Debian/Ubuntu packages that are missing, as root or through sudo; otherwise
# stops with the one apt line to run.
ensure_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo="sudo"
    else
      echo "plenum: missing system packages; install them with: sudo apt-get install -y ${missing[*]}" >&2
      exit 1
    fi
  fi
  echo "==> installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

check_toolchain() {
  need cargo "install Rust from https://rustup.rs"
  need rustc "install Rust from https://rustup.rs"
  if ! cargo fmt --version >/dev/null 2>&1; then rustup component add rustfmt; fi
  if ! cargo clippy --version >/dev/null 2>&1; then rustup component add clippy; fi
}

# Installs the web UI's npm packages exactly as package-lock.json says (when they are
# missing or the lock file changed) and builds ui/dist, which the plenum binary embeds.
build_ui() {
  need node "install Node.js 20.19 or newer (e.g. apt-get install nodejs npm)"
  need npm "install npm (e.g. apt-get install npm)"
  if [ ! -f ui/node_modules/.package-lock.json ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
    npm --prefix ui ci --no-audit --no-fund
  fi
  npm --prefix ui run --silent build
}
