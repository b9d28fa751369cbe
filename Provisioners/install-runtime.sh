#!/usr/bin/env bash
# The container runtime: containerd (default, with runc and the CNI plugins, downloaded and
# checked), or Docker from the distribution's packages.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "${WORKER_DIR:-/tmp/worker}/lib.sh"
require CONTAINER_RUNTIME CNI_PLUGIN_VERSION GITHUB_RELEASE_URL
arch=$(kube_arch)

install_cni() {
  local tarball=$ROOT/opt/cni/cni-plugins-$CNI_PLUGIN_VERSION.tgz
  fetch "$GITHUB_RELEASE_URL/containernetworking/plugins/releases/download/v$CNI_PLUGIN_VERSION/cni-plugins-linux-$arch-v$CNI_PLUGIN_VERSION.tgz" \
    "$tarball" "${CNI_PLUGIN_SHA256:-}"
  mkdir -p "$ROOT/opt/cni/bin" "$ROOT/etc/cni/net.d"
  tar -xzf "$tarball" -C "$ROOT/opt/cni/bin"
}

# containerd's configuration with the CRI plugin on (the Docker packages turn it off), systemd
# cgroups and the CNI plugins' folders: kubelet talks to containerd in both runtimes.
containerd_config() {
  put 0644 /etc/containerd/config.toml <<'CONF'
version = 2
root = "/var/lib/containerd"
state = "/run/containerd"

[grpc]
address = "/run/containerd/containerd.sock"

[plugins."io.containerd.grpc.v1.cri".containerd]
default_runtime_name = "runc"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
runtime_type = "io.containerd.runc.v2"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
SystemdCgroup = true

[plugins."io.containerd.grpc.v1.cri".cni]
bin_dir = "/opt/cni/bin"
conf_dir = "/etc/cni/net.d"
CONF
}

case "$CONTAINER_RUNTIME" in
  containerd)
    require CONTAINERD_VERSION RUNC_VERSION
    log "containerd $CONTAINERD_VERSION, runc $RUNC_VERSION, CNI plugins $CNI_PLUGIN_VERSION"
    tarball=$ROOT/opt/containerd/containerd-$CONTAINERD_VERSION.tar.gz
    fetch "$GITHUB_RELEASE_URL/containerd/containerd/releases/download/v$CONTAINERD_VERSION/containerd-$CONTAINERD_VERSION-linux-$arch.tar.gz" \
      "$tarball" "${CONTAINERD_SHA256:-}"
    mkdir -p "$ROOT/usr/local"
    tar -xzf "$tarball" -C "$ROOT/usr/local"
    fetch "$GITHUB_RELEASE_URL/opencontainers/runc/releases/download/v$RUNC_VERSION/runc.$arch" \
      "$ROOT/usr/local/sbin/runc" "${RUNC_SHA256:-}" \
      "$GITHUB_RELEASE_URL/opencontainers/runc/releases/download/v$RUNC_VERSION/runc.sha256sum"
    chmod 0755 "$ROOT/usr/local/sbin/runc"
    install_cni
    containerd_config
    put 0644 /etc/systemd/system/containerd.service <<'UNIT'
[Unit]
Description=containerd container runtime
After=network.target local-fs.target

[Service]
ExecStartPre=-/sbin/modprobe overlay
ExecStart=/usr/local/bin/containerd
Type=notify
Delegate=yes
KillMode=process
Restart=always
RestartSec=5
LimitNPROC=infinity
LimitCORE=infinity
LimitNOFILE=1048576
TasksMax=infinity
OOMScoreAdjust=-999

[Install]
WantedBy=multi-user.target
UNIT
    systemctl_live daemon-reload
    systemctl_live enable containerd
    ;;
  docker)
    log "Docker from the distribution's packages, CNI plugins $CNI_PLUGIN_VERSION"
    [ -z "$ROOT" ] || die "CONTAINER_RUNTIME=docker installs packages and cannot run in INSTALL_ROOT"
    if command -v apt-get >/dev/null; then
      DEBIAN_FRONTEND=noninteractive apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io
    elif command -v dnf >/dev/null; then
      dnf install -y -q docker
    else
      die "no apt-get or dnf to install Docker with"
    fi
    install_cni
    containerd_config
    put 0644 /etc/docker/daemon.json <<'CONF'
{
  "bridge": "none",
  "exec-opts": ["native.cgroupdriver=systemd"],
  "log-driver": "json-file",
  "log-opts": {"max-size": "10m", "max-file": "10"},
  "live-restore": true,
  "max-concurrent-downloads": 10
}
CONF
    systemctl_live restart containerd
    systemctl_live enable docker
    ;;
  *) die "CONTAINER_RUNTIME must be containerd or docker, not '$CONTAINER_RUNTIME'" ;;
esac
