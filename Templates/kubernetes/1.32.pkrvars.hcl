# Kubernetes 1.32 for Templates/eks-node.pkr.hcl: the version and build date of a release
# directory in the EKS binary bucket (<binary_bucket_url>/1.32.0/2024-12-20/bin/linux/<arch>/).
kubernetes_version    = "1.32.0"
kubernetes_build_date = "2024-12-20"
