#!/usr/bin/env bash
# Kernel modules and sysctl settings Kubernetes networking needs.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "${WORKER_DIR:-/tmp/worker}/lib.sh"

log "kernel modules for container networking"
put 0644 /etc/modules-load.d/kubernetes.conf <<'CONF'
overlay
br_netfilter
CONF

log "sysctl settings for Kubernetes"
put 0644 /etc/sysctl.d/99-kubernetes.conf <<'CONF'
net.bridge.bridge-nf-call-ip6tables = 1
net.bridge.bridge-nf-call-iptables = 1
net.ipv4.ip_forward = 1
net.ipv4.conf.all.rp_filter = 0
fs.inotify.max_user_watches = 524288
fs.inotify.max_user_instances = 8192
vm.overcommit_memory = 1
kernel.panic = 10
kernel.panic_on_oops = 1
CONF

# Applied now only on a real machine that has the tools (not in a throwaway root, a container
# or the demo's sandbox); the files above take effect at the next boot anyway.
if [ -z "$ROOT" ]; then
  if command -v modprobe >/dev/null; then
    modprobe overlay || true
    modprobe br_netfilter || true
  fi
  if command -v sysctl >/dev/null; then sysctl --system >/dev/null || true; fi
fi
