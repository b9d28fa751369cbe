#!/usr/bin/env bash
# Lays out stand-in release artifacts the way the EKS binary bucket and the GitHub releases
# publish them (binaries and their .sha256/.sha256sum files), for the demo's loopback mirror.
# They are small shell scripts that print a version, not the real binaries: the demo installs
# them for real, checks every checksum, and records their versions, without the internet.
#
#   demo/publish-mirror.sh DIR KUBERNETES_VERSION BUILD_DATE CONTAINERD RUNC CNI
set -euo pipefail
dir=$1 k8s=$2 date=$3 containerd=$4 runc=$5 cni=$6
mkdir -p "$dir" && cd "$dir"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
for arch in amd64 arm64; do
  eks=amazon-eks/$k8s/$date/bin/linux/$arch
  mkdir -p "$eks"
  for b in kubelet kubectl aws-iam-authenticator ecr-credential-provider; do
    printf '#!/bin/sh\necho "%s v%s (kiln demo mirror)"\n' "$b" "$k8s" >"$eks/$b"
    (cd "$eks" && sha256sum "$b" >"$b.sha256")
  done
  rel=containerd/containerd/releases/download/v$containerd
  mkdir -p "$rel" "$stage/$arch/bin"
  printf '#!/bin/sh\necho "containerd github.com/containerd/containerd v%s (kiln demo mirror)"\n' "$containerd" >"$stage/$arch/bin/containerd"
  chmod +x "$stage/$arch/bin/containerd"
  tar -czf "$rel/containerd-$containerd-linux-$arch.tar.gz" -C "$stage/$arch" bin
  (cd "$rel" && sha256sum "containerd-$containerd-linux-$arch.tar.gz" >"containerd-$containerd-linux-$arch.tar.gz.sha256sum")
  r=opencontainers/runc/releases/download/v$runc
  mkdir -p "$r"
  printf '#!/bin/sh\necho "runc version %s (kiln demo mirror)"\n' "$runc" >"$r/runc.$arch"
  (cd "$r" && sha256sum "runc.$arch" >>runc.sha256sum)
  c=containernetworking/plugins/releases/download/v$cni
  mkdir -p "$c" "$stage/$arch/cni"
  printf '#!/bin/sh\n' >"$stage/$arch/cni/bridge" && chmod +x "$stage/$arch/cni/bridge"
  tar -czf "$c/cni-plugins-linux-$arch-v$cni.tgz" -C "$stage/$arch/cni" bridge
  (cd "$c" && sha256sum "cni-plugins-linux-$arch-v$cni.tgz" >"cni-plugins-linux-$arch-v$cni.tgz.sha256")
done
