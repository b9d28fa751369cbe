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

if [ -z "$ROOT" ]; then
  modprobe overlay || true
  modprobe br_netfilter || true
  sysctl --system >/dev/null || true
fi
