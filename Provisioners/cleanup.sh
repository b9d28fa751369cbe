#!/usr/bin/env bash
# Leaves nothing machine-specific or secret in the image: package caches, logs, machine-id,
# SSH host keys, cloud-init state, shell history and temporary credentials.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "${WORKER_DIR:-/tmp/worker}/lib.sh"

log "cleaning package caches, logs and instance identity"
if [ -z "$ROOT" ]; then
  if command -v apt-get >/dev/null; then apt-get clean; fi
  if command -v dnf >/dev/null; then dnf clean all >/dev/null; fi
fi
rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/cache/dnf/* "$ROOT"/var/lib/apt/lists/*
rm -rf "$ROOT"/var/lib/cloud/instances/* "$ROOT"/var/lib/cloud/instance "$ROOT"/var/log/cloud-init*.log
find "$ROOT/var/log" -type f \( -name '*.log' -o -name '*.gz' -o -name '*.[0-9]' \) -delete 2>/dev/null || true
rm -f "$ROOT"/etc/ssh/ssh_host_*_key "$ROOT"/etc/ssh/ssh_host_*_key.pub
rm -f "$ROOT"/root/.bash_history "$ROOT"/home/*/.bash_history
rm -rf "$ROOT"/root/.aws "$ROOT"/home/*/.aws
if [ -f "$ROOT/etc/machine-id" ]; then : >"$ROOT/etc/machine-id"; fi
rm -f "$ROOT/var/lib/dbus/machine-id"
# The uploaded scripts last: they are this script's own folder.
rm -rf "${WORKER_DIR:-/tmp/worker}"/*.sh
