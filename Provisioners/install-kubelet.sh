#!/usr/bin/env bash
# kubelet and kubectl from the EKS binary bucket, checked against its SHA-256 files, with the
# kubelet's systemd unit and configuration.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "${WORKER_DIR:-/tmp/worker}/lib.sh"
require KUBERNETES_VERSION KUBERNETES_BUILD_DATE BINARY_BUCKET_URL CONTAINER_RUNTIME
arch=$(kube_arch)
base=$BINARY_BUCKET_URL/$KUBERNETES_VERSION/$KUBERNETES_BUILD_DATE/bin/linux/$arch

log "kubelet and kubectl $KUBERNETES_VERSION ($KUBERNETES_BUILD_DATE, $arch)"
for binary in kubelet kubectl; do
  fetch "$base/$binary" "$ROOT/usr/bin/$binary"
  chmod 0755 "$ROOT/usr/bin/$binary"
done

case "$CONTAINER_RUNTIME" in
  containerd) endpoint=unix:///run/containerd/containerd.sock; after=containerd.service ;;
  docker) endpoint=unix:///run/containerd/containerd.sock; after=docker.service ;;
  *) die "CONTAINER_RUNTIME must be containerd or docker, not '$CONTAINER_RUNTIME'" ;;
esac

put 0644 /etc/kubernetes/kubelet/config.json <<CONF
{
  "kind": "KubeletConfiguration",
  "apiVersion": "kubelet.config.k8s.io/v1beta1",
  "address": "0.0.0.0",
  "authentication": {
    "anonymous": {"enabled": false},
    "webhook": {"cacheTTL": "2m0s", "enabled": true},
    "x509": {"clientCAFile": "/etc/kubernetes/pki/ca.crt"}
  },
  "authorization": {"mode": "Webhook", "webhook": {"cacheAuthorizedTTL": "5m0s", "cacheUnauthorizedTTL": "30s"}},
  "cgroupDriver": "systemd",
  "clusterDomain": "cluster.local",
  "containerRuntimeEndpoint": "$endpoint",
  "featureGates": {"RotateKubeletServerCertificate": true},
  "protectKernelDefaults": true,
  "readOnlyPort": 0,
  "serializeImagePulls": false,
  "serverTLSBootstrap": true,
  "tlsCipherSuites": ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"]
}
CONF

put 0644 /etc/systemd/system/kubelet.service <<UNIT
[Unit]
Description=Kubernetes Kubelet
Documentation=https://github.com/kubernetes/kubernetes
After=$after
Wants=$after

[Service]
ExecStartPre=/sbin/iptables -P FORWARD ACCEPT -w 5
ExecStart=/usr/bin/kubelet \\
    --config /etc/kubernetes/kubelet/config.json \\
    --kubeconfig /var/lib/kubelet/kubeconfig \\
    --image-credential-provider-config /etc/eks/image-credential-provider/config.json \\
    --image-credential-provider-bin-dir /etc/eks/image-credential-provider \\
    \$KUBELET_ARGS \$KUBELET_EXTRA_ARGS
Restart=on-failure
RestartForceExitStatus=SIGPIPE
RestartSec=5
KillMode=process
CPUAccounting=true
MemoryAccounting=true

[Install]
WantedBy=multi-user.target
UNIT
mkdir -p "$ROOT/var/lib/kubelet" "$ROOT/etc/kubernetes/pki"
systemctl_live daemon-reload
systemctl_live enable kubelet
