# Kubernetes 1.30 for Templates/eks-node.pkr.hcl: the version and build date of a release
# directory in the EKS binary bucket (<binary_bucket_url>/1.30.6/2024-11-15/bin/linux/<arch>/).
kubernetes_version    = "1.30.6"
kubernetes_build_date = "2024-11-15"
