#!/usr/bin/env bash
# aws-iam-authenticator and the ECR image credential provider from the EKS binary bucket,
# checked against its SHA-256 files, and the credential provider's kubelet configuration.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "${WORKER_DIR:-/tmp/worker}/lib.sh"
require KUBERNETES_VERSION KUBERNETES_BUILD_DATE BINARY_BUCKET_URL
arch=$(kube_arch)
base=$BINARY_BUCKET_URL/$KUBERNETES_VERSION/$KUBERNETES_BUILD_DATE/bin/linux/$arch

log "aws-iam-authenticator and ecr-credential-provider ($KUBERNETES_VERSION, $KUBERNETES_BUILD_DATE)"
fetch "$base/aws-iam-authenticator" "$ROOT/usr/bin/aws-iam-authenticator"
chmod 0755 "$ROOT/usr/bin/aws-iam-authenticator"
fetch "$base/ecr-credential-provider" "$ROOT/etc/eks/image-credential-provider/ecr-credential-provider"
chmod 0755 "$ROOT/etc/eks/image-credential-provider/ecr-credential-provider"

put 0644 /etc/eks/image-credential-provider/config.json <<'CONF'
{
  "apiVersion": "kubelet.config.k8s.io/v1",
  "kind": "CredentialProviderConfig",
  "providers": [
    {
      "name": "ecr-credential-provider",
      "matchImages": [
        "*.dkr.ecr.*.amazonaws.com",
        "*.dkr.ecr.*.amazonaws.com.cn",
        "*.dkr.ecr-fips.*.amazonaws.com",
        "*.dkr.ecr.*.c2s.ic.gov",
        "*.dkr.ecr.*.sc2s.sgov.gov"
      ],
      "defaultCacheDuration": "12h",
      "apiVersion": "credentialprovider.kubelet.k8s.io/v1"
    }
  ]
}
CONF
