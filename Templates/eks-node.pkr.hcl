# Amazon EKS worker node AMI, in HCL2: the twin of Templates/eks-node.json (the same build,
# checked by Tests/KilnCLITests/EitherFormatTests.swift). Build with a file from
# Templates/kubernetes/:
#
#   kiln build -var-file Templates/kubernetes/1.31.pkrvars.hcl Templates/eks-node.pkr.hcl

packer {
  required_version = ">= 1.7.0"
}

variable "kubernetes_version" {
  type        = string
  description = "The Kubernetes release to install, e.g. 1.31.2 (set by a Templates/kubernetes/ file)."
}

variable "kubernetes_build_date" {
  type        = string
  description = "The EKS release directory's build date, e.g. 2024-11-15 (set by a Templates/kubernetes/ file)."
}

variable "os" {
  type        = string
  default     = "ubuntu-24.04"
  description = "ubuntu-24.04 or al2023: chooses the source AMI filter, owner, root device and SSH user."

  validation {
    condition     = contains(["ubuntu-24.04", "al2023"], var.os)
    error_message = "The os must be ubuntu-24.04 or al2023."
  }
}

variable "arch" {
  type        = string
  default     = "x86_64"
  description = "x86_64 or arm64 (the instance type follows: m5.large or m6g.large)."

  validation {
    condition     = contains(["x86_64", "arm64"], var.arch)
    error_message = "The arch must be x86_64 or arm64."
  }
}

variable "container_runtime" {
  type        = string
  default     = "containerd"
  description = "containerd, or docker (installed from the distribution's packages)."
}

variable "containerd_version" {
  type        = string
  default     = "1.7.24"
  description = "The containerd GitHub release, checksum-verified."
}

variable "runc_version" {
  type        = string
  default     = "1.2.2"
  description = "The runc GitHub release, checksum-verified."
}

variable "cni_plugin_version" {
  type        = string
  default     = "1.6.1"
  description = "The CNI plugins GitHub release, checksum-verified."
}

variable "binary_bucket_url" {
  type        = string
  default     = "https://s3.us-west-2.amazonaws.com/amazon-eks"
  description = "Where the EKS binaries come from (a mirror laid out like the bucket works)."
}

variable "github_release_url" {
  type        = string
  default     = "https://github.com"
  description = "Where the GitHub releases come from (a mirror works)."
}

variable "aws_region" {
  type        = string
  default     = env("AWS_REGION")
  description = "The build region."
}

variable "ami_regions" {
  type        = list(string)
  default     = []
  description = "Regions to copy the AMI to."
}

variable "ami_users" {
  type        = list(string)
  default     = []
  description = "Accounts to share the AMI and its snapshots with."
}

variable "ami_name_prefix" {
  type        = string
  default     = "eks-node"
  description = "The AMI is named <prefix>-<kubernetes>-<os>-<arch>-<yyyymmdd-hhmm>."
}

variable "instance_type" {
  type        = string
  default     = ""
  description = "The build instance; empty: m6g.large for arm64, m5.large otherwise."
}

variable "root_volume_size" {
  type        = number
  default     = 20
  description = "The encrypted gp3 root volume's size in GiB."
}

variable "kms_key_id" {
  type        = string
  default     = ""
  description = "The KMS key of the root volume; empty: the account's default key."
}

variable "source_ami_name" {
  type        = string
  default     = ""
  description = "The source AMI's name filter; empty: the os's stock image for arch."
}

variable "source_ami_owner" {
  type        = string
  default     = ""
  description = "The source AMI's owner; empty: Amazon for al2023, Canonical otherwise."
}

variable "root_device_name" {
  type        = string
  default     = ""
  description = "The root device; empty: /dev/xvda for al2023, /dev/sda1 otherwise."
}

variable "ssh_username" {
  type        = string
  default     = ""
  description = "The SSH user; empty: ec2-user for al2023, ubuntu otherwise."
}

variable "custom_endpoint_ec2" {
  type        = string
  default     = ""
  description = "An EC2 endpoint other than AWS's (a local emulator)."
}

variable "ssh_host" {
  type        = string
  default     = ""
  description = "Connect here instead of the instance's address (a local emulator)."
}

variable "ssh_port" {
  type        = number
  default     = 22
  description = "The SSH port."
}

variable "worker_dir" {
  type        = string
  default     = "/tmp/worker"
  description = "Where the provisioning scripts are uploaded on the instance."
}

variable "manifest_file" {
  type        = string
  default     = "eks-node-manifest.json"
  description = "The manifest post-processor's output."
}

variable "version_info_file" {
  type        = string
  default     = "eks-node-version-info.json"
  description = "Where the component versions the instance reports are downloaded to."
}

locals {
  al2023        = var.os == "al2023"
  instance_type = var.instance_type != "" ? var.instance_type : (var.arch == "arm64" ? "m6g.large" : "m5.large")
  source_ami_name = var.source_ami_name != "" ? var.source_ami_name : (
    local.al2023
    ? "al2023-ami-2023.*-kernel-*-${var.arch}"
    : "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-${var.arch == "arm64" ? "arm64" : "amd64"}-server-*"
  )
  source_ami_owner = var.source_ami_owner != "" ? var.source_ami_owner : (local.al2023 ? "137112412989" : "099720109477")
  root_device_name = var.root_device_name != "" ? var.root_device_name : (local.al2023 ? "/dev/xvda" : "/dev/sda1")
  ssh_username     = var.ssh_username != "" ? var.ssh_username : (local.al2023 ? "ec2-user" : "ubuntu")

  name        = "${var.ami_name_prefix}-${var.kubernetes_version}-${var.os}"
  scripts_dir = "${path.root}/../Provisioners"
  # One clock per run: the AMI's name and its build-date tag are the same instant.
  build_time = timestamp()

  # What the scripts are told, and what the manifest records.
  environment = [
    "WORKER_DIR=${var.worker_dir}",
    "ARCH=${var.arch}",
    "KUBERNETES_VERSION=${var.kubernetes_version}",
    "KUBERNETES_BUILD_DATE=${var.kubernetes_build_date}",
    "CONTAINER_RUNTIME=${var.container_runtime}",
    "CONTAINERD_VERSION=${var.containerd_version}",
    "RUNC_VERSION=${var.runc_version}",
    "CNI_PLUGIN_VERSION=${var.cni_plugin_version}",
    "BINARY_BUCKET_URL=${var.binary_bucket_url}",
    "GITHUB_RELEASE_URL=${var.github_release_url}",
  ]
  execute_command = "chmod +x {{ .Path }}; sudo -n env {{ .Vars }} bash {{ .Path }}"
}

source "amazon-ebs" "eks-node" {
  region              = var.aws_region
  custom_endpoint_ec2 = var.custom_endpoint_ec2

  source_ami_filter {
    filters = {
      name                = local.source_ami_name
      architecture        = var.arch
      root-device-type    = "ebs"
      virtualization-type = "hvm"
    }
    owners      = [local.source_ami_owner]
    most_recent = true
  }

  instance_type           = local.instance_type
  ssh_username            = local.ssh_username
  ssh_host                = var.ssh_host
  ssh_port                = var.ssh_port
  ssh_timeout             = "10m"
  temporary_key_pair_type = "ed25519"
  shutdown_behavior       = "terminate"

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 2
  }
  imds_support = "v2.0"
  ena_support  = true

  launch_block_device_mappings {
    device_name           = local.root_device_name
    volume_type           = "gp3"
    volume_size           = var.root_volume_size
    encrypted             = true
    kms_key_id            = var.kms_key_id
    delete_on_termination = true
  }

  ami_name        = "${var.ami_name_prefix}-${var.kubernetes_version}-${var.os}-${var.arch}-${formatdate("YYYYMMDD-hhmm", local.build_time)}"
  ami_description = "EKS worker node, Kubernetes ${var.kubernetes_version}, ${var.container_runtime}, built from {{ .SourceAMIName }}"
  ami_regions     = var.ami_regions
  ami_users       = var.ami_users
  snapshot_users  = var.ami_users

  run_tags = {
    Name                 = "kiln-eks-node-build"
    "kubernetes-version" = var.kubernetes_version
  }
  tags = {
    Name                    = local.name
    os                      = var.os
    arch                    = var.arch
    "kubernetes-version"    = var.kubernetes_version
    "kubernetes-build-date" = var.kubernetes_build_date
    "container-runtime"     = var.container_runtime
    "containerd-version"    = var.containerd_version
    "runc-version"          = var.runc_version
    "cni-plugin-version"    = var.cni_plugin_version
    "source-ami"            = "{{ .SourceAMI }}"
    "source-ami-name"       = "{{ .SourceAMIName }}"
    "build-region"          = "{{ .BuildRegion }}"
    "build-date"            = local.build_time
  }
  snapshot_tags = {
    Name                 = local.name
    "kubernetes-version" = var.kubernetes_version
  }
}

build {
  description = "Amazon EKS worker node AMI: Ubuntu 24.04 LTS or Amazon Linux 2023 (variable 'os'), containerd (or Docker), kubelet, aws-iam-authenticator and the ECR credential provider at pinned versions, IMDSv2 required, encrypted root volume."
  sources     = ["source.amazon-ebs.eks-node"]

  provisioner "shell" {
    inline = ["mkdir -p ${var.worker_dir}"]
  }

  provisioner "file" {
    source      = "${local.scripts_dir}/"
    destination = "${var.worker_dir}/"
  }

  provisioner "shell" {
    execute_command  = local.execute_command
    environment_vars = concat(local.environment, ["SOURCE_AMI=${build.SourceAMI}"])
    scripts = [
      "${local.scripts_dir}/configure-kernel.sh",
      "${local.scripts_dir}/install-runtime.sh",
      "${local.scripts_dir}/install-kubelet.sh",
      "${local.scripts_dir}/install-auth.sh",
      "${local.scripts_dir}/write-version-info.sh",
    ]
  }

  provisioner "file" {
    direction   = "download"
    source      = "${var.worker_dir}/version-info.json"
    destination = var.version_info_file
  }

  provisioner "shell" {
    execute_command  = local.execute_command
    environment_vars = ["WORKER_DIR=${var.worker_dir}"]
    script           = "${local.scripts_dir}/cleanup.sh"
  }

  post-processor "manifest" {
    output     = var.manifest_file
    strip_path = true
    custom_data = {
      kubernetes_version    = var.kubernetes_version
      kubernetes_build_date = var.kubernetes_build_date
      os                    = var.os
      arch                  = var.arch
      container_runtime     = var.container_runtime
      source_ami_name       = "${build.SourceAMIName}"
    }
  }
}
