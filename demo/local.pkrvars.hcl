# demo/run's local stand-ins for Templates/eks-node.pkr.hcl (the twin of demo/local.json):
# moto's stock Ubuntu 16.04 record as the source AMI, the sandbox's sshd on loopback.
aws_region       = "us-east-1"
source_ami_name  = "ubuntu/images/hvm-ssd/ubuntu-xenial-16.04-amd64-server-*"
source_ami_owner = "099720109477"
ssh_username     = "root"
ssh_host         = "127.0.0.1"
ami_name_prefix  = "eks-node-demo"
