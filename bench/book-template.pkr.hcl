# bench/build.sh's HCL2 form: the twin of bench/book-template.json (the book's amazon-ebs
# template: source AMI filter, one shell script, ami_regions with a second region) against
# the local moto and sshd.

variable "moto_url" {
  type        = string
  default     = ""
  description = "The local EC2 emulator's endpoint."
}

variable "ssh_port" {
  type        = string
  default     = ""
  description = "The local sshd's port."
}

variable "ssh_username" {
  type        = string
  default     = ""
  description = "The user the local sshd admits."
}

source "amazon-ebs" "book" {
  region              = "us-east-1"
  custom_endpoint_ec2 = var.moto_url

  source_ami_filter {
    filters = {
      virtualization-type = "hvm"
      name                = "ubuntu/images/*ubuntu-xenial-16.04-amd64-server-*"
      root-device-type    = "ebs"
    }
    owners      = ["099720109477"]
    most_recent = true
  }

  instance_type = "t2.micro"
  ssh_host      = "127.0.0.1"
  ssh_port      = var.ssh_port
  ssh_username  = var.ssh_username
  ssh_timeout   = "2m"
  ami_name      = "packer-example {{timestamp}}"
  ami_regions   = ["us-west-2"]
}

build {
  description = "bench/build.sh: the book's amazon-ebs template against the local moto and sshd, the same for Kiln and Packer."
  sources     = ["source.amazon-ebs.book"]

  provisioner "shell" {
    script = "${path.root}/book-install.sh"
  }
}
