import Foundation
import KilnAWS
import KilnCrypto
import Testing
import _KilnTestSupport

/// `kiln build` of an HCL2 template whose data sources run against moto (EC2 for
/// `amazon-ami`, SSM for `amazon-parameterstore`) before the amazon-ebs build, with the test
/// sshd as the instance: the source AMI comes from a data source, a SecureString reaches the
/// provisioner and is masked everywhere, and a failing data source stops the run before any
/// cloud resource is made.
@Suite struct HCLDataSourceBuildTests {
  static func template(_ lab: EC2Lab, parameter: String) throws -> String {
    let endpoint = lab.moto.endpoint.absoluteString
    let text = """
      data "amazon-ami" "ubuntu" {
        region              = "us-east-1"
        custom_endpoint_ec2 = "\(endpoint)"
        filters = {
          name                = "ubuntu/images/hvm-ssd/ubuntu-xenial-16.04-amd64-server-*"
          virtualization-type = "hvm"
        }
        owners      = ["099720109477"]
        most_recent = true
      }

      data "amazon-parameterstore" "token" {
        region          = "us-east-1"
        name            = "\(parameter)"
        with_decryption = true
      }

      source "amazon-ebs" "eks" {
        region              = "us-east-1"
        custom_endpoint_ec2 = "\(endpoint)"
        source_ami          = data.amazon-ami.ubuntu.id
        instance_type       = "m5.large"
        ssh_host            = "127.0.0.1"
        ssh_port            = \(lab.sshd.port)
        ssh_username        = "\(lab.sshd.user)"
        ssh_timeout         = "30s"
        ami_name            = "kiln-hcl-data-{{timestamp}}"
        aws_polling {
          delay_seconds = 1
          max_attempts  = 30
        }
      }

      build {
        sources = ["source.amazon-ebs.eks"]

        provisioner "shell" {
          environment_vars = ["TOKEN=${data.amazon-parameterstore.token.value}"]
          inline = [
            "echo token: $TOKEN",
            "echo token-hash: $(printf %s \\"$TOKEN\\" | sha256sum | cut -d' ' -f1)",
            "echo build-name: $PACKER_BUILD_NAME",
          ]
        }

        post-processor "manifest" {
          output = "manifest.json"
        }
      }
      """
    let path = lab.work.appendingPathComponent("t.pkr.hcl").path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  static func environment(_ lab: EC2Lab) -> [String: String] {
    var environment = lab.environment
    environment["AWS_ENDPOINT_URL_SSM"] = lab.moto.endpoint.absoluteString
    return environment
  }

  @Test func dataSourcesFeedTheBuildAndTheSecretIsMasked() async throws {
    let lab = try await EC2Lab()
    let secret = "s3cr3t-\(UUID().uuidString)"
    _ = try await lab.moto.seed([["op": "put_parameter", "name": "/kiln/test/token", "value": secret, "type": "SecureString"]])
    let path = try Self.template(lab, parameter: "/kiln/test/token")
    var environment = Self.environment(lab)
    let log = lab.work.appendingPathComponent("kiln.log")
    environment["KILN_LOG"] = "1"
    environment["KILN_LOG_PATH"] = log.path
    let result = try await KilnProcess.run(["build", "-color=false", path], in: lab.work, environment: environment)
    #expect(result.status == 0, "\(result.stdout)\(result.stderr)")

    // The provisioner received the value (its hash is printed), which is never shown.
    let hash = try Digest.hash(.sha256, Array(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    #expect(result.stdout.contains("token-hash: \(hash)"), "\(result.stdout)")
    #expect(result.stdout.contains("token: <sensitive>"), "\(result.stdout)")
    let manifest = try String(contentsOf: lab.work.appendingPathComponent("manifest.json"), encoding: .utf8)
    let logged = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
    for (place, text) in [("stdout", result.stdout), ("stderr", result.stderr), ("manifest", manifest), ("log", logged)] {
      #expect(!text.contains(secret), "the secret shows in \(place)")
    }

    // The source AMI is the one amazon-ami found (moto's newest xenial image).
    let image = try #require(try await lab.client().describeImages(owners: ["self"]).first)
    #expect(result.stdout.contains("ami-785db401"), "\(result.stdout)")
    #expect(manifest.contains(image.imageID))
    // HCL2 names: the output and -only use the full name, the plugins the source's.
    #expect(result.stdout.contains("==> amazon-ebs.eks: "), "\(result.stdout)")
    #expect(result.stdout.contains("build-name: eks"), "\(result.stdout)")
    #expect(manifest.contains("\"name\" : \"eks\""), "\(manifest)")
    #expect(manifest.contains("\"builder_type\" : \"amazon-ebs\""), "\(manifest)")
  }

  @Test func aFailingDataSourceStopsTheRunWithItsPosition() async throws {
    let lab = try await EC2Lab()
    let path = try Self.template(lab, parameter: "/kiln/test/absent")
    let before = try await lab.snapshots(["us-east-1"])
    let result = try await KilnProcess.run(["build", "-color=false", path], in: lab.work, environment: Self.environment(lab))
    #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
    #expect(
      result.stderr.contains(#"t.pkr.hcl:14:21: error: data "amazon-parameterstore" "token": The parameter name "/kiln/test/absent" not found"#),
      "\(result.stderr)")
    #expect(lab.moto.requests("RunInstances").isEmpty)
    #expect(lab.moto.requests("CreateKeyPair").isEmpty)
    let left = try await lab.leftovers(["us-east-1"], snapshotsBefore: before)
    #expect(left.isEmpty, "\(left.prefix(5))")
  }
}
