# shellcheck shell=bash
# Helpers shared by the EKS node scripts. Sourced (from $WORKER_DIR), never run.
#
# Every script honours INSTALL_ROOT (default /): the tests install into a throwaway root and
# check what lands where; on a real build it is /. Every download is checked against a SHA-256
# checksum before it is installed.

ROOT=${INSTALL_ROOT:-/}
ROOT=${ROOT%/}

log() { printf '==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# require VAR...: each must be set and non-empty.
require() {
  local name
  for name in "$@"; do
    [ -n "${!name:-}" ] || die "$name must be set (the template passes it in environment_vars)"
  done
}

# Kubernetes' name for the machine architecture.
kube_arch() {
  case "${ARCH:-$(uname -m)}" in
    x86_64 | amd64) echo amd64 ;;
    aarch64 | arm64) echo arm64 ;;
    *) die "unsupported architecture ${ARCH:-$(uname -m)} (x86_64 or arm64)" ;;
  esac
}

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# fetch URL DEST [SHA256 [SUMS_URL]]
# Downloads URL to DEST and checks its SHA-256: against the checksum given; else against the
# line for the file in SUMS_URL; else against URL.sha256 or URL.sha256sum (as the EKS binary
# bucket and the GitHub releases publish them). Does nothing when DEST already has the right
# checksum, so a second run changes nothing.
fetch() {
  local url=$1 dest=$2 expected=${3:-} sums=${4:-} tmp actual candidate
  if [ -z "$expected" ]; then
    for candidate in ${sums:-"$url.sha256" "$url.sha256sum"}; do
      expected=$(curl -fsSL --retry 3 "$candidate" 2>/dev/null |
        awk -v name="$(basename "$url")" 'NF == 1 || $2 == name || $2 == "*" name { print $1; exit }') || expected=
      [ -z "$expected" ] || break
    done
    [ -n "$expected" ] || die "no checksum for $url (looked for ${sums:-$url.sha256 and .sha256sum}; is the version right?)"
  fi
  [[ "$expected" =~ ^[0-9a-f]{64}$ ]] || die "bad checksum for $url: '$expected' is not a SHA-256"
  if [ -f "$dest" ] && [ "$(sha256_of "$dest")" = "$expected" ]; then
    log "$(basename "$dest") is already installed ($expected)"
    return 0
  fi
  tmp=$(mktemp)
  if ! curl -fsSL --retry 3 -o "$tmp" "$url"; then
    rm -f "$tmp"
    die "cannot download $url (is the version right?)"
  fi
  actual=$(sha256_of "$tmp")
  if [ "$actual" != "$expected" ]; then
    rm -f "$tmp"
    die "checksum mismatch for $url: expected $expected, got $actual"
  fi
  mkdir -p "$(dirname "$dest")"
  mv "$tmp" "$dest"
  log "downloaded $(basename "$dest") ($actual)"
}

# put MODE DEST: writes standard input to DEST under the root with MODE, only if it differs.
put() {
  local mode=$1 dest=$ROOT$2 tmp
  tmp=$(mktemp)
  cat >"$tmp"
  mkdir -p "$(dirname "$dest")"
  if [ -f "$dest" ] && cmp -s "$tmp" "$dest"; then
    rm -f "$tmp"
  else
    mv "$tmp" "$dest"
  fi
  chmod "$mode" "$dest"
}

# Runs systemctl only on a real machine (not in a throwaway root).
systemctl_live() {
  if [ -z "$ROOT" ] && command -v systemctl >/dev/null; then systemctl "$@"; fi
}
