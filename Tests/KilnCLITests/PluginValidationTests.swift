import Foundation
import KilnBuilders
import KilnCLI
import KilnCore
import Testing
import _KilnTestSupport

/// Plugin configuration checks, through the same validator `kiln validate` uses.
@Suite struct PluginValidationTests {
  func validate(_ text: String, vars: [String] = [], only: [String] = []) throws -> Validation {
    let directory = try Scratch.directory("kiln-pv")
    let path = directory.appendingPathComponent("template.json").path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    try "#!/bin/sh\necho hi\n".write(toFile: directory.appendingPathComponent("script.sh").path, atomically: true, encoding: .utf8)
    var options = ValidationOptions()
    options.assignments = vars.compactMap(VariableResolver.Assignment.parse)
    options.workingDirectory = directory.path
    options.only = only
    options.environment = [:]
    options.clock = BuildClock(start: Date(timeIntervalSince1970: 1_700_000_000))
    return TemplateValidator.validate(path: path, options: options, registry: .kiln)
  }

  static let goodEBS = #"""
    {
      "variables": {"k8s_version": "1.29", "regions": "us-west-2,eu-west-1"},
      "builders": [{
        "type": "amazon-ebs", "name": "eks",
        "region": "us-east-1",
        "source_ami_filter": {"filters": {"name": "ubuntu/*"}, "owners": ["099720109477"], "most_recent": true},
        "instance_type": "m5.large",
        "ssh_username": "ubuntu",
        "ami_name": "eks-node-{{user `k8s_version`}}-{{timestamp}}",
        "ami_description": "from {{ .SourceAMIName }}",
        "ami_regions": "{{user `regions`}}",
        "ami_users": ["123456789012"],
        "encrypt_boot": "true",
        "metadata_options": {"http_tokens": "required", "http_put_response_hop_limit": 2},
        "launch_block_device_mappings": [{"device_name": "/dev/sda1", "volume_size": "20", "volume_type": "gp3", "throughput": 250, "delete_on_termination": true}],
        "tags": {"Name": "eks-{{user `k8s_version`}}", "Base": "{{ .SourceAMI }}", "Region": "{{.BuildRegion}}"},
        "ssh_timeout": "10m"
      }],
      "provisioners": [
        {"type": "shell", "script": "script.sh", "environment_vars": ["K8S={{user `k8s_version`}}", "ID={{build `ID`}}"],
         "execute_command": "sudo -S sh -c '{{ .Vars }} {{ .Path }}'", "expect_disconnect": true, "max_retries": "3", "pause_before": "10s"},
        {"type": "file", "source": "script.sh", "destination": "/tmp/"}
      ],
      "post-processors": [{"type": "manifest", "output": "manifest.json", "strip_path": true, "custom_data": {"ami": "{{build `SourceAMIName`}}"}}]
    }
    """#

  @Test func aCompleteAmazonEBSTemplateIsValidAndTyped() throws {
    let validation = try validate(Self.goodEBS)
    #expect(!validation.diagnostics.hasErrors, "\(validation.diagnostics.items)")
    let build = try #require(validation.builds.first)
    #expect(build.name == "eks")
    let provisioner = try #require(build.provisioners.first)
    #expect(provisioner.maxRetries == 3 && provisioner.pauseBefore == 10)
    #expect(validation.builds.count == 1 && build.provisioners.count == 2 && build.postProcessors.count == 1)
  }

  static let badEBS = #"""
    {
      "builders": [{
        "type": "amazon-ebs",
        "source_ami_filter": {"filters": {"name": "x"}},
        "ami_name": "bad*name",
        "instance_typ": "m5.large",
        "shutdown_behavior": "explode",
        "metadata_options": {"http_tokens": "sometimes", "http_put_response_hop_limit": 99},
        "kms_key_id": "alias/mine",
        "temporary_security_group_source_cidrs": ["10.0.0.0/33"],
        "launch_block_device_mappings": [{"volume_type": "gp9", "iops": 100}],
        "ami_description": "{{ .SourceAMINme }}",
        "ssh_timeout": "forever",
        "user_data": "x", "user_data_file": "missing.txt"
      }]
    }
    """#

  @Test(arguments: [
    "'source_ami_filter' must list 'owners'",
    "'ami_name' contains '*'",
    "unknown configuration key 'instance_typ'; did you mean 'instance_type'?",
    "an 'instance_type' must be specified",
    "'shutdown_behavior' must be one of \"stop\", \"terminate\", not \"explode\"",
    "'http_tokens' must be one of \"optional\", \"required\", not \"sometimes\"",
    "'http_put_response_hop_limit' must be between 1 and 64, not 99",
    "'kms_key_id' requires \"encrypt_boot\": true",
    "\"10.0.0.0/33\", which is not a CIDR block",
    "'device_name' must be specified",
    "'volume_type' must be one of",
    "'iops' is only valid with volume_type io1, io2 or gp3",
    ".SourceAMINme is not available here",
    "did you mean .SourceAMIName?",
    "'ssh_timeout' must be a duration",
    "only one of 'user_data' or 'user_data_file' can be specified",
    "an 'ssh_username' must be specified",
  ])
  func amazonEBSProblemsAreAllReported(expected: String) throws {
    let validation = try validate(Self.badEBS)
    let messages = validation.diagnostics.errors.map(\.description)
    #expect(messages.contains { $0.contains(expected) }, "\(messages.joined(separator: "\n"))")
    #expect(validation.diagnostics.errors.allSatisfy { $0.location != nil })
    #expect(validation.builds.isEmpty)
  }

  @Test(arguments: [
    (#"{"type": "shell"}"#, "either a script file"),
    (#"{"type": "shell", "inline": ["a"], "script": "script.sh"}"#, "only one of 'inline', 'script' or 'scripts'"),
    (#"{"type": "shell", "scripts": ["script.sh", "nope.sh"]}"#, "names a script 'nope.sh' that does not exist"),
    (#"{"type": "shell", "inline": ["a"], "environment_vars": ["=x"]}"#, "is not in the form KEY=value"),
    (#"{"type": "shell", "inline": ["a"], "valid_exit_codes": ["zero"]}"#, "not an integer"),
    (#"{"type": "shell", "inline": ["a"], "execute_command": "{{.Pth}}"}"#, "did you mean .Path?"),
    (#"{"type": "file", "source": "nope", "destination": "/tmp/"}"#, "names a source 'nope' that does not exist"),
    (#"{"type": "file", "sources": ["script.sh", "script.sh"], "destination": "/tmp/x"}"#, "must end with '/'"),
    (#"{"type": "file", "source": "script.sh"}"#, "'destination' must be specified"),
    (#"{"type": "file", "source": "x", "destination": "/x", "direction": "sideways"}"#, "must be one of \"upload\", \"download\""),
    (#"{"type": "shell-local", "inline": ["echo {{build `Nope`}}"]}"#, "build: unknown key `Nope`"),
    (#"{"type": "shell-local", "inline": ["echo {{env `HOME`}}"]}"#, "env vars are not allowed here"),
    (#"{"type": "shell", "inline": ["a"], "pause_before": "soon"}"#, "'pause_before' must be a duration"),
    (#"{"type": "shell", "inline": ["a"], "max_retries": "many"}"#, "'max_retries' must be a non-negative integer"),
    (#"{"type": "ansible", "playbook_file": "x"}"#, "provisioner type \"ansible\" is not supported by kiln"),
  ])
  func provisionerProblems(provisioner: String, expected: String) throws {
    let template =
      #"{"builders": [{"type": "null", "ssh_host": "127.0.0.1", "ssh_username": "u", "ssh_password": "p"}], "provisioners": [\#(provisioner)]}"#
    let messages = try validate(template).diagnostics.errors.map(\.message)
    #expect(messages.contains { $0.contains(expected) }, "\(messages)")
  }

  @Test func remoteProvisionersNeedACommunicator() throws {
    let template = #"{"builders": [{"type": "null", "communicator": "none"}], "provisioners": [{"type": "shell", "inline": ["x"]}]}"#
    let messages = try validate(template).diagnostics.errors.map(\.message)
    #expect(messages.contains { $0.contains("\"communicator\": \"none\"") })
  }

  @Test func nullBuilderNeedsHostUserAndAuthentication() throws {
    let messages = try validate(#"{"builders": [{"type": "null"}]}"#).diagnostics.errors.map(\.message)
    #expect(messages.count == 3, "\(messages)")
    #expect(
      try validate(#"{"builders": [{"type": "null", "ssh_host": "h", "ssh_username": "u", "ssh_agent_auth": true}]}"#).diagnostics.hasErrors == false)
  }

  @Test func onlySelectsBuildsAndCrossReferencesAreChecked() throws {
    let template = #"""
      {"builders": [{"type": "null", "name": "a", "communicator": "none"}, {"type": "null", "name": "b", "communicator": "none"}],
       "provisioners": [{"type": "shell-local", "inline": ["x"], "only": ["c"]},
                        {"type": "shell-local", "inline": ["x"], "override": {"d": {}}}],
       "post-processors": [{"type": "manifest", "except": ["e"]}]}
      """#
    let validation = try validate(template, only: ["a"])
    let messages = validation.diagnostics.errors.map(\.message)
    #expect(messages.contains("provisioner 1: 'only' specified builder 'c' not found"))
    #expect(messages.contains("provisioner 2: override 'd' doesn't exist"))
    #expect(messages.contains("post-processor 1.1: 'except' specified builder 'e' not found"))
    #expect(validation.builds.map(\.name) == ["a"])
  }

  @Test func weakDecodingOfNumbersBooleansAndLists() throws {
    let template = #"""
      {"variables": {"size": "30", "enc": "true", "users": "111111111111,222222222222"},
       "builders": [{"type": "amazon-ebs", "region": "us-east-1", "source_ami": "ami-1", "instance_type": "t3.micro",
         "ssh_username": "u", "ami_name": "n-{{timestamp}}", "encrypt_boot": "{{user `enc`}}", "ami_users": "{{user `users`}}",
         "launch_block_device_mappings": [{"device_name": "/dev/xvda", "volume_size": "{{user `size`}}"}]}]}
      """#
    let validation = try validate(template)
    #expect(!validation.diagnostics.hasErrors, "\(validation.diagnostics.items)")
    // The strings must have become the typed values, not merely been accepted.
    let builder = try #require(validation.builds.first?.builder as? AmazonEBSBuilder)
    #expect(builder.config.encryptBoot == true)
    #expect(builder.config.amiUsers == ["111111111111", "222222222222"])
    #expect(builder.config.launchBlockDeviceMappings.map(\.volumeSize) == [30])
  }

  /// `"region": "us east 1"` used to pass `validate` and then trap in `build` (issue 11, item 3).
  @Test func regionNamesThatCannotBeAWSRegionsAreValidationErrors() throws {
    let template = #"""
      {"builders": [{"type": "amazon-ebs", "region": "us east 1", "ami_regions": ["eu-west-1", "EU_WEST_2"],
         "source_ami": "ami-1", "instance_type": "t3.micro", "ssh_username": "u", "ami_name": "n-{{timestamp}}"}]}
      """#
    let errors = try validate(template).diagnostics.errors.map(\.message)
    #expect(errors.contains { $0.contains("'region'") && $0.contains("\"us east 1\" is not an AWS region name") }, "\(errors)")
    #expect(errors.contains { $0.contains("'ami_regions'") && $0.contains("\"EU_WEST_2\" is not an AWS region name") }, "\(errors)")
    #expect(!errors.contains { $0.contains("eu-west-1") }, "\(errors)")
  }
}
