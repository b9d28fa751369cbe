#!/usr/bin/env bash
# Records what the image contains in $WORKER_DIR/version-info.json (downloaded by the build,
# as the official EKS build does) and /etc/eks/release on the image.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "${WORKER_DIR:-/tmp/worker}/lib.sh"
require KUBERNETES_VERSION KUBERNETES_BUILD_DATE CONTAINER_RUNTIME

version_of() { if [ -x "$1" ]; then "$1" "${@:2}" 2>/dev/null | head -n 1 || true; fi; }
kubelet=$(version_of "$ROOT/usr/bin/kubelet" --version)
containerd=$(version_of "$ROOT/usr/local/bin/containerd" --version)
runc=$(version_of "$ROOT/usr/local/sbin/runc" --version)

put 0644 /etc/eks/release <<RELEASE
KUBERNETES_VERSION=$KUBERNETES_VERSION
KUBERNETES_BUILD_DATE=$KUBERNETES_BUILD_DATE
CONTAINER_RUNTIME=$CONTAINER_RUNTIME
CONTAINERD_VERSION=${CONTAINERD_VERSION:-}
RUNC_VERSION=${RUNC_VERSION:-}
CNI_PLUGIN_VERSION=${CNI_PLUGIN_VERSION:-}
SOURCE_AMI=${SOURCE_AMI:-}
RELEASE

# JSON string: backslashes and quotes escaped, control characters dropped.
json() { local v=${1//\\/\\\\}; v=${v//\"/\\\"}; printf '"%s"' "$(printf '%s' "$v" | tr -d '\000-\037')"; }
out=${WORKER_DIR:-/tmp/worker}/version-info.json
mkdir -p "$(dirname "$out")"
{
  printf '{\n'
  printf '  "kubernetes_version": %s,\n' "$(json "$KUBERNETES_VERSION")"
  printf '  "kubernetes_build_date": %s,\n' "$(json "$KUBERNETES_BUILD_DATE")"
  printf '  "container_runtime": %s,\n' "$(json "$CONTAINER_RUNTIME")"
  printf '  "containerd_version": %s,\n' "$(json "${CONTAINERD_VERSION:-}")"
  printf '  "runc_version": %s,\n' "$(json "${RUNC_VERSION:-}")"
  printf '  "cni_plugin_version": %s,\n' "$(json "${CNI_PLUGIN_VERSION:-}")"
  printf '  "source_ami": %s,\n' "$(json "${SOURCE_AMI:-}")"
  printf '  "reported": {"kubelet": %s, "containerd": %s, "runc": %s}\n' "$(json "$kubelet")" "$(json "$containerd")" "$(json "$runc")"
  printf '}\n'
} >"$out"
log "version info written to $out"
