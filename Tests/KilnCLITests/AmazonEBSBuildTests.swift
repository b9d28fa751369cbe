import Foundation
import KilnAWS
import KilnBuilders
import KilnCore
import KilnSSH
import Testing
import _KilnTestSupport

/// `kiln build` with amazon-ebs, end to end: the binary against moto (signatures checked)
/// and a real sshd that accepts exactly the key pair of moto's running instances. Each test
/// has its own moto, so "nothing is left" means nothing at all.
struct EC2Lab {
  let moto: MotoServer
  let sshd: SSHServer
  let work: URL

  /// With `chroot`, the sshd confines every session to that directory (root only).
  init(chroot: String? = nil) async throws {
    moto = try await MotoServer(writeInstanceKeys: true)
    sshd = try await SSHServer(authorizedKeysFile: moto.instanceKeys, chroot: chroot)
    work = try Scratch.directory("kiln-ebs")
  }

  func client(_ region: String = "us-east-1") throws -> EC2Client {
    let credentials = SigV4.Credentials(accessKeyID: moto.accessKeyID, secretAccessKey: moto.secretAccessKey)
    return try EC2Client(
      region: region, customEndpoint: moto.endpoint.absoluteString, http: try CurlHTTPClient(),
      credentials: StaticCredentialsProvider(credentials), retry: RetryPolicy(maxRetries: 2, baseDelay: .milliseconds(10)))
  }

  var environment: [String: String] {
    KilnProcess.isolatedEnvironment(["AWS_ACCESS_KEY_ID": moto.accessKeyID, "AWS_SECRET_ACCESS_KEY": moto.secretAccessKey])
  }

  /// An amazon-ebs template against this lab; `extra` is merged into the builder. `sshPort`
  /// replaces the sshd's (a proxy's gated port), `instanceTypes` the one `instance_type`.
  func template(
    endpoint: URL? = nil, instanceTypes: [String] = [],
    provisioners: String = #"[{"type": "shell", "inline": ["echo provisioned on $(id -un) {{build `ID`}} {{build `SourceAMI`}}"]}]"#,
    extra: String = "", name: String = "kiln-test-{{timestamp}}", sshPort: Int? = nil
  ) throws -> String {
    let types = instanceTypes.map { "\"\($0)\"" }.joined(separator: ", ")
    let instance = instanceTypes.isEmpty ? #""instance_type": "m5.large""# : #""instance_types": [\#(types)]"#
    let text = """
      {
        "variables": {"k8s_version": "1.31.2"},
        "builders": [{
          "type": "amazon-ebs", "name": "eks",
          "region": "us-east-1",
          "custom_endpoint_ec2": "\((endpoint ?? moto.endpoint).absoluteString)",
          "source_ami_filter": {
            "filters": {"name": "ubuntu/images/hvm-ssd/ubuntu-xenial-16.04-amd64-server-*", "virtualization-type": "hvm"},
            "owners": ["099720109477"], "most_recent": true
          },
          \(instance),
          "ssh_host": "127.0.0.1", "ssh_port": \(sshPort ?? sshd.port), "ssh_username": "\(sshd.user)", "ssh_timeout": "30s",
          "aws_polling": {"delay_seconds": 1, "max_attempts": 30},
          "ami_name": "\(name)"\(extra.isEmpty ? "" : ",\n" + extra)
        }],
        "provisioners": \(provisioners),
        "post-processors": [{"type": "manifest", "output": "manifest.json", "custom_data": {"source": "{{build `SourceAMI`}}", "region": "{{build `BuildRegion`}}"}}]
      }
      """
    let path = work.appendingPathComponent("template.json").path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  func build(_ arguments: [String]) async throws -> KilnProcess.Result {
    try await KilnProcess.run(["build", "-color=false"] + arguments, in: work, environment: environment)
  }

  func start(_ arguments: [String]) async throws -> KilnProcess.Running {
    try await KilnProcess.Running(["build", "-color=false"] + arguments, in: work, environment: environment)
  }

  /// What a build may leave in a region: instances not terminated, key pairs, security
  /// groups other than "default", AMIs and snapshots owned by the account, volumes.
  func leftovers(_ regions: [String] = ["us-east-1", "us-west-2"], snapshotsBefore: Set<String> = []) async throws -> [String] {
    var left: [String] = []
    for region in regions {
      let ec2 = try client(region)
      left += try await ec2.describeInstances().filter { $0.state != "terminated" }.map { "instance \($0.instanceID) \($0.state) in \(region)" }
      left += try await ec2.describeKeyPairs().map { "key pair \($0.keyName) in \(region)" }
      left += try await ec2.describeSecurityGroups().filter { $0.groupName != "default" }.map { "security group \($0.groupID) in \(region)" }
      left += try await ec2.describeImages(owners: ["self"]).map { "AMI \($0.imageID) \($0.name) in \(region)" }
      left += try await ec2.describeSnapshots(owners: ["self"]).filter { !snapshotsBefore.contains($0.snapshotID) }.map {
        "snapshot \($0.snapshotID) in \(region)"
      }
      left += try await ec2.describeVolumes().filter { $0.state == "available" }.map { "volume \($0.volumeID) in \(region)" }
    }
    return left
  }

  /// A proxy before moto that passes `action` on at once but holds its answer back for 100 s
  /// (under kiln's 120 s request timeout): the resource exists while kiln still waits for
  /// its id. Long, because a test on a loaded machine may be slow to see it held and
  /// interrupt; the held answer must not arrive first.
  func proxyHoldingAnswers(to action: String) async throws -> LoopbackServer {
    let proxy = try await LoopbackServer(python: TestPaths.fixture("fault_proxy.py"), arguments: [moto.endpoint.absoluteString])
    try await control(proxy, ["hold_action": action, "hold": 100])
    return proxy
  }

  /// Changes the proxy's behaviour (see `fault_proxy.py`: "fail", "status", "code", …).
  func control(_ proxy: LoopbackServer, _ settings: [String: Any]) async throws {
    let body = try JSONSerialization.data(withJSONObject: settings)
    let answer = try await CurlHTTPClient().send(
      HTTPRequest(method: "POST", url: proxy.baseURL.appendingPathComponent("__control"), body: Array(body)))
    #expect(answer.status == 200)
  }

  /// How many answers the proxy holds back, once it holds one (asked for at most 60 s).
  func waitForHeldAnswer(_ proxy: LoopbackServer) async throws -> Int {
    let http = try CurlHTTPClient()
    for _ in 0..<600 {
      let answer = try await http.send(HTTPRequest(method: "GET", url: proxy.baseURL.appendingPathComponent("__held")))
      let held = (try JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Int])?["held"] ?? 0
      if held > 0 { return held }
      try await Task.sleep(for: .milliseconds(100))
    }
    return 0
  }

  /// Every resource in `region` that carries a `kiln:run` tag, with all its tags, as moto's
  /// DescribeTags lists them: resource type ("instance", "volume", "network-interface",
  /// "key-pair", …) → resource id → tags.
  func kilnTagged(_ region: String = "us-east-1") async throws -> [String: [String: [EC2Tag]]] {
    let query = try client(region).query
    var marked = QueryParameters()
    marked.add(filters: [EC2Filter("key", ["kiln:run"])])
    let ids = Set(try await query.call("DescribeTags", marked).items("tagSet").compactMap { $0.string("resourceId") })
    guard !ids.isEmpty else { return [:] }
    var all = QueryParameters()
    all.add(filters: [EC2Filter("resource-id", ids.sorted())])
    var found: [String: [String: [EC2Tag]]] = [:]
    for item in try await query.call("DescribeTags", all).items("tagSet") {
      found[item.string("resourceType") ?? "", default: [:]][item.string("resourceId") ?? "", default: []].append(
        EC2Tag(item.string("key") ?? "", item.string("value") ?? ""))
    }
    return found
  }

  func snapshots(_ regions: [String] = ["us-east-1", "us-west-2"]) async throws -> Set<String> {
    var all: Set<String> = []
    for region in regions { all.formUnion(try await client(region).describeSnapshots(owners: ["self"]).map(\.snapshotID)) }
    return all
  }
}

@Suite struct AmazonEBSBuildTests {
  @Test func buildsCopiesSharesAndTagsTheAMIAndLeavesNothingElse() async throws {
    let lab = try await EC2Lab()
    let before = try await lab.snapshots()
    let path = try lab.template(
      extra: #"""
        "ami_description": "EKS node {{user `k8s_version`}} from {{ .SourceAMIName }}",
        "ami_regions": ["us-west-2"],
        "ami_users": ["111122223333"],
        "snapshot_users": ["111122223333"],
        "launch_block_device_mappings": [
          {"device_name": "/dev/sda1", "volume_size": 20, "volume_type": "gp3", "delete_on_termination": true},
          {"device_name": "/dev/sdf", "volume_size": 5, "volume_type": "gp2", "delete_on_termination": false}
        ],
        "ami_block_device_mappings": [{"device_name": "/dev/sdg", "virtual_name": "ephemeral0"}],
        "run_tags": {"Name": "kiln-test-builder"},
        "run_volume_tags": {"purpose": "build"},
        "tags": {"Name": "eks-node-{{user `k8s_version`}}", "source": "{{ .SourceAMI }}", "region": "{{ .BuildRegion }}"},
        "snapshot_tags": {"kind": "root", "Name": "eks-node-root"},
        "imds_support": "v2.0"
        """#, name: "eks-node-{{user `k8s_version`}}-{{timestamp}}")
    let result = try await lab.build([path])
    #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    #expect(result.stdout.contains("eks: provisioned on \(lab.sshd.user) i-"))

    // The AMI, with the interpolated name, description and tags.
    let east = try lab.client("us-east-1")
    let images = try await east.describeImages(owners: ["self"])
    let image = try #require(images.first)
    #expect(images.count == 1)
    #expect(image.name.hasPrefix("eks-node-1.31.2-"))
    #expect(image.description == "EKS node 1.31.2 from ubuntu/images/hvm-ssd/ubuntu-xenial-16.04-amd64-server-20170721")
    let tags = Dictionary(image.tags.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
    #expect(tags["Name"] == "eks-node-1.31.2")
    #expect(tags["source"] == "ami-785db401")
    #expect(tags["region"] == "us-east-1")
    #expect(tags["kiln:template"] == "template.json")
    #expect(tags["kiln:build"] == "eks")
    let runID = try #require(tags["kiln:run"])
    #expect(!image.blockDevices.isEmpty)
    #expect(
      try await east.describeImageAttribute(imageID: image.imageID, attribute: "launchPermission").launchPermissions.contains {
        $0.userID == "111122223333"
      })
    let snapshot = try #require(try await east.describeSnapshots(snapshotIDs: image.snapshotIDs).first)
    let snapshotTags = Dictionary(snapshot.tags.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
    #expect(snapshotTags["kind"] == "root")
    #expect(snapshotTags["Name"] == "eks-node-root", "snapshot_tags win over tags")
    #expect(snapshotTags["kiln:run"] == runID)

    // The copy: same name, tags and sharing in the other region.
    let west = try lab.client("us-west-2")
    let copy = try #require(try await west.describeImages(owners: ["self"]).first)
    #expect(copy.name == image.name)
    #expect(copy.tags.contains(EC2Tag("source", "ami-785db401")))
    #expect(copy.tags.contains(EC2Tag("kiln:run", runID)))
    #expect(
      try await west.describeImageAttribute(imageID: copy.imageID, attribute: "launchPermission").launchPermissions.contains {
        $0.userID == "111122223333"
      })

    // imds_support on both AMIs. moto accepts ModifyImageAttribute's ImdsSupport but keeps
    // nothing (its DescribeImageAttribute imdsSupport fails: its images have no such field),
    // so the test reads what moto was asked: ImdsSupport v2.0 for exactly these two AMIs.
    let imds = lab.moto.requests("ModifyImageAttribute").filter { $0["ImdsSupport.Value"] != nil }
    #expect(imds.map { $0["ImdsSupport.Value"] } == ["v2.0", "v2.0"])
    #expect(Set(imds.compactMap { $0["ImageId"] }) == [image.imageID, copy.imageID])

    // The instance is gone, and so is everything temporary.
    let instances = try await east.describeInstances()
    #expect(instances.count == 1)
    #expect(instances.first?.state == "terminated")
    #expect(instances.first?.tags.contains(EC2Tag("Name", "kiln-test-builder")) == true)
    #expect(instances.first?.tags.contains(EC2Tag("kiln:run", runID)) == true)
    let left = try await lab.leftovers(snapshotsBefore: before).filter { !$0.hasPrefix("AMI ") && !$0.hasPrefix("snapshot ") }
    #expect(left.isEmpty, "left: \(left)")

    // The manifest and the artifact line.
    let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: lab.work.appendingPathComponent("manifest.json"))) as? [String: Any]
    let build = try #require((manifest?["builds"] as? [[String: Any]])?.first)
    #expect(build["artifact_id"] as? String == "us-east-1:\(image.imageID),us-west-2:\(copy.imageID)")
    #expect(build["builder_type"] as? String == "amazon-ebs")
    #expect(
      build["custom_data"] as? [String: String] == ["source": "ami-785db401", "region": "us-east-1"],
      "post-processors see the builder's generated data")
    #expect(result.stdout.contains("--> eks: AMIs were created:\nus-east-1: \(image.imageID)\nus-west-2: \(copy.imageID)"))
  }

  /// Driven as awslabs/amazon-eks-ami's Makefile drives Packer: the variables discovered
  /// from `inspect -machine-readable` with grep and awk, `-var` flags for those the caller
  /// set, then `validate` and `build -timestamp-ui -color=false` with `-var-file F`,
  /// `-var-file=F` and `-var k='v'`.
  @Test func theEKSMakefileFlowWorksUnchanged() async throws {
    let lab = try await EC2Lab()
    let path = try lab.template(name: "eks-node-{{user `k8s_version`}}-{{timestamp}}")
    try #"{"k8s_version": "1.30.0"}"#.write(to: lab.work.appendingPathComponent("first.json"), atomically: true, encoding: .utf8)
    try #"{"k8s_version": "1.31.0"}"#.write(to: lab.work.appendingPathComponent("second.json"), atomically: true, encoding: .utf8)
    let script = """
      set -eu
      PACKER_BINARY='\(try KilnProcess.executable.path)'
      T='\(path)'
      PACKER_VARIABLES=$($PACKER_BINARY inspect -machine-readable "$T" | grep 'template-variable' | awk -F ',' '{print $4}')
      test "$PACKER_VARIABLES" = k8s_version
      k8s_version=1.31.2
      PACKER_VAR_FLAGS=""
      for variable in $PACKER_VARIABLES; do
        value=$(eval "printf '%s' \"\\${$variable:-}\"")
        if [ -n "$value" ]; then PACKER_VAR_FLAGS="$PACKER_VAR_FLAGS -var $variable=$value"; fi
      done
      $PACKER_BINARY validate $PACKER_VAR_FLAGS -var-file first.json "$T"
      $PACKER_BINARY build -timestamp-ui -color=false -var-file first.json -var-file=second.json -var 'k8s_version=1.31.2' "$T"
      """
    let (status, output) = try await TestCommand.run(["sh", "-c", script], environment: lab.environment, directory: lab.work)
    #expect(status == 0, "\(output)")
    let image = try #require(try await lab.client().describeImages(owners: ["self"]).first, "\(output)")
    #expect(image.name.hasPrefix("eks-node-1.31.2-"), "-var wins over both -var-files")
    let stamped = try Regex(#"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z: ==> eks: "#).anchorsMatchLineEndings()
    #expect(output.contains(stamped), "-timestamp-ui prefixes each line")
    #expect(!output.contains("\u{1B}["), "-color=false")
  }

  /// Every resource a build creates carries `kiln:run` (and the template's tags) from the
  /// call that creates it: the instance, its volumes and network interface, the key pair and
  /// the security group (looked at while the build waits in its provisioner), the AMI and its
  /// snapshot, and the copy and its snapshot in the other region. moto's request log holds no
  /// CreateTags but the completion mark, one per region.
  @Test func everyResourceIsTaggedByTheCallThatCreatesIt() async throws {
    let lab = try await EC2Lab()
    let go = lab.work.appendingPathComponent("go").path
    let path = try lab.template(
      provisioners: #"[{"type": "shell", "inline": ["echo started", "while [ ! -e '\#(go)' ]; do sleep 0.2; done"]}]"#,
      extra: #"""
        "ami_regions": ["us-west-2"],
        "launch_block_device_mappings": [
          {"device_name": "/dev/sda1", "volume_size": 8, "volume_type": "gp3", "delete_on_termination": true},
          {"device_name": "/dev/sdf", "volume_size": 5, "volume_type": "gp2", "delete_on_termination": true}
        ],
        "run_tags": {"Name": "kiln-builder", "team": "images"},
        "run_volume_tags": {"purpose": "build"},
        "tags": {"Name": "eks-node-{{user `k8s_version`}}", "source": "{{ .SourceAMI }}"},
        "snapshot_tags": {"kind": "root"}
        """#)
    let kiln = try await lab.start([path])
    try await kiln.waitFor("eks: started")

    // While the instance runs: what the launch made, and the temporary key pair and group.
    let during = try await lab.kilnTagged()
    let runID = try #require(during["instance"]?.values.first?.first { $0.key == "kiln:run" }?.value, "\(during)")
    for type in ["instance", "volume", "network-interface", "key-pair", "security-group"] {
      let resources = during[type] ?? [:]
      #expect(!resources.isEmpty, "no \(type) tagged with kiln:run: \(during)")
      for (id, tags) in resources {
        #expect(tags.contains(EC2Tag("kiln:run", runID)), "\(type) \(id): \(tags)")
        #expect(tags.contains(EC2Tag("kiln:build", "eks")), "\(type) \(id): \(tags)")
        #expect(tags.contains { $0.key == "kiln:created" }, "\(type) \(id): \(tags)")
        if type == "volume" {
          #expect(tags.contains(EC2Tag("purpose", "build")), "run_volume_tags on \(id): \(tags)")
        } else {
          #expect(tags.contains(EC2Tag("team", "images")), "run_tags on \(type) \(id): \(tags)")
        }
      }
    }
    #expect(during["volume"]?.count == 2, "the root volume and /dev/sdf: \(during)")
    #expect(FileManager.default.createFile(atPath: go, contents: nil))
    #expect(try await kiln.finish() == 0, "\(kiln.text)")

    // The AMI and its snapshot, the copy and its snapshot: the template's tags and Kiln's.
    for region in ["us-east-1", "us-west-2"] {
      let image = try #require(try await lab.client(region).describeImages(owners: ["self"]).first, "an AMI in \(region)")
      #expect(image.tags.contains(EC2Tag("Name", "eks-node-1.31.2")), "\(region): \(image.tags)")
      #expect(image.tags.contains(EC2Tag("source", "ami-785db401")), "\(region): \(image.tags)")
      #expect(image.tags.contains(EC2Tag("team", "images")), "run_tags go on the AMIs: \(image.tags)")
      #expect(image.tags.contains(EC2Tag("kiln:run", runID)))
      #expect(image.tags.contains(EC2Tag("kiln:state", "complete")))
      #expect(!image.snapshotIDs.isEmpty)
      for snapshot in try await lab.client(region).describeSnapshots(snapshotIDs: image.snapshotIDs) {
        #expect(snapshot.tags.contains(EC2Tag("kind", "root")), "\(region) \(snapshot.snapshotID): \(snapshot.tags)")
        #expect(snapshot.tags.contains(EC2Tag("Name", "eks-node-1.31.2")), "\(region) \(snapshot.snapshotID): \(snapshot.tags)")
        #expect(snapshot.tags.contains(EC2Tag("kiln:run", runID)))
        #expect(snapshot.tags.contains(EC2Tag("kiln:state", "complete")))
      }
    }

    // Tagged by the create calls themselves: the only CreateTags are the completion marks.
    let created = lab.moto.requests("CreateImage") + lab.moto.requests("CopyImage")
    #expect(created.count == 2)
    for call in created {
      #expect(Set([call["TagSpecification.1.ResourceType"], call["TagSpecification.2.ResourceType"]]) == ["image", "snapshot"], "\(call)")
    }
    let tagCalls = lab.moto.requests("CreateTags")
    #expect(tagCalls.count == 2, "one completion mark per region: \(tagCalls)")
    for call in tagCalls {
      #expect(call["Tag.1.Key"] == "kiln:state" && call["Tag.1.Value"] == "complete" && call["Tag.2.Key"] == nil, "\(call)")
      #expect(call.filter { $0.key.hasPrefix("ResourceId.") }.values.allSatisfy { $0.hasPrefix("ami-") || $0.hasPrefix("snap-") }, "\(call)")
    }
  }

  /// `-skip-unchanged`: a second build of the same inputs launches nothing, makes only
  /// describe calls and reports the first build's AMIs (the manifest gets them too); one
  /// changed byte in an uploaded script builds again.
  @Test func skipUnchangedBuildsOnlyWhenAnInputChanged() async throws {
    let lab = try await EC2Lab()
    let script = lab.work.appendingPathComponent("setup.sh")
    try "#!/bin/sh\necho setting up\n".write(to: script, atomically: true, encoding: .utf8)
    let path = try lab.template(
      provisioners: #"[{"type": "shell", "script": "setup.sh"}]"#, extra: #""ami_regions": ["us-west-2"]"#,
      name: "eks-node-{{user `k8s_version`}}-{{timestamp}}")
    let first = try await lab.build(["-skip-unchanged", path])
    #expect(first.status == 0, "\(first.stdout)")
    let image = try #require(try await lab.client().describeImages(owners: ["self"]).first)
    #expect(image.tags.contains { $0.key == "kiln:fingerprint" && $0.value.count == 64 })
    let callsBefore = lab.moto.actions().count

    // Another second: {{timestamp}} differs, which is no reason to rebuild.
    try await Task.sleep(for: .milliseconds(1100))
    let second = try await lab.build(["-skip-unchanged", path])
    #expect(second.status == 0, "\(second.stdout)")
    #expect(second.stdout.contains("skipping the build"), "\(second.stdout)")
    let secondCalls = lab.moto.actions().dropFirst(callsBefore).map(\.action)
    #expect(secondCalls.allSatisfy { $0.hasPrefix("Describe") }, "a skipped build only looks: \(secondCalls)")
    #expect(second.stdout.contains("us-east-1: \(image.imageID)"), "the first build's AMIs are the artifact")
    let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: lab.work.appendingPathComponent("manifest.json"))) as? [String: Any]
    let builds = manifest?["builds"] as? [[String: Any]] ?? []
    #expect(builds.count == 2 && builds[0]["artifact_id"] as? String == builds[1]["artifact_id"] as? String, "\(builds)")

    try "#!/bin/sh\necho setting up!\n".write(to: script, atomically: true, encoding: .utf8)
    let third = try await lab.build(["-skip-unchanged", path])
    #expect(third.status == 0, "\(third.stdout)")
    #expect(third.stdout.contains("Inputs changed since the last build"), "\(third.stdout)")
    #expect(lab.moto.requests("RunInstances").count == 2, "one changed byte builds again")
    #expect(try await lab.client().describeImages(owners: ["self"]).count == 2)
  }

  /// amazon-ebs side by side with Packer 1.6.6, against the same moto and sshd: the records
  /// scripts read in `-machine-readable` output (every non-`ui` record: artifacts, errors,
  /// counts) and the summary lines, with ids, times and durations normalised, and the exit
  /// codes, for a build that succeeds and one whose provisioner fails. (The step lines in
  /// between are Kiln's own words for its own steps.)
  @Test(arguments: [true, false])
  func machineReadableRecordsAreLikePackers(succeeds: Bool) async throws {
    let lab = try await EC2Lab()
    let packerPath = try #require(PackerContractTests.packer, "Packer 1.6.6 is not installed: .ci/install-deps installs Debian's packer")
    let script = succeeds ? "echo provisioned" : "exit 3"
    let template = """
      {"variables": {"k8s_version": "1.31.2"},
       "builders": [{"type": "amazon-ebs", "name": "eks", "region": "us-east-1",
         "custom_endpoint_ec2": "\(lab.moto.endpoint.absoluteString)",
         "source_ami_filter": {"filters": {"name": "ubuntu/images/hvm-ssd/ubuntu-xenial-16.04-amd64-server-*"}, "owners": ["099720109477"], "most_recent": true},
         "instance_type": "m5.large", "ssh_host": "127.0.0.1", "ssh_port": \(lab.sshd.port), "ssh_username": "\(lab.sshd.user)", "ssh_timeout": "2m",
         "ami_name": "eks-node-{{user `k8s_version`}}-{{timestamp}}-{{uuid}}", "ami_regions": ["us-west-2"],
         "tags": {"Name": "eks-node-{{user `k8s_version`}}"}}],
       "provisioners": [{"type": "shell", "inline": ["\(script)"]}],
       "post-processors": [{"type": "manifest", "output": "manifest.json", "strip_time": true}]}
      """
    let path = lab.work.appendingPathComponent("side-by-side.json")
    try template.write(to: path, atomically: true, encoding: .utf8)
    var environment = lab.environment
    environment["CHECKPOINT_DISABLE"] = "1"
    environment["HOME"] = lab.work.path
    let kiln = try await KilnProcess.run(["build", "-machine-readable", path.path], in: lab.work, environment: environment)
    let packer = try await TestCommand.run(
      [packerPath, "build", "-machine-readable", path.path], environment: environment, directory: lab.work, includeStderr: false, timeout: 600)
    #expect(kiln.status == packer.status, "exit codes: kiln \(kiln.status), packer \(packer.status)\n\(packer.output)")
    #expect(packer.status == (succeeds ? 0 : 1), "\(packer.output)")

    let rules: [(Regex<AnyRegexOutput>, String)] = [
      (try Regex(#"^[0-9]+,"#), "T,"), (try Regex(#"after [0-9]+ [a-z]+(?: [0-9]+ [a-z]+)?"#), "after D"),
      (try Regex(#"ami-[0-9a-f]+"#), "AMI"), (try Regex(#"[0-9]{10}-[0-9a-f-]{36}"#), "NAME"),
      (try Regex(#"/tmp/(?:packer|script)[^ ]*"#), "SCRIPT"), (try Regex(#"provisioner [a-z-]+ \(#[0-9]+\) failed: "#), ""),
    ]
    func readBySripts(_ output: String) -> [String] {
      output.split(separator: "\n").map(String.init).filter { line in
        guard let record = MachineReadable.parse(line) else { return false }
        if record.type != "ui" { return true }
        let text = record.data.dropFirst().first ?? ""
        return ["Build '", "\n==> Wait completed", "\n==> Builds finished", "\n==> Some builds", "--> "].contains { text.hasPrefix($0) }
      }.map { line in rules.reduce(line) { $0.replacing($1.0, with: $1.1) } }
    }
    let expected = readBySripts(packer.output)
    let seen = readBySripts(kiln.stdout)
    #expect(!expected.isEmpty)
    #expect(seen == expected, "\(PackerContractTests.difference(expected: expected, seen: seen))")
  }

  /// `deprecate_at` and the amazon plugin's `deregistration_protection` block, asked of moto
  /// (whose fixture implements EnableImageDeprecation and EnableImageDeregistrationProtection
  /// as the EC2 API Reference documents them), on the AMI and its copy.
  @Test func deprecateAtAndDeregistrationProtectionReachEveryAMI() async throws {
    let lab = try await EC2Lab()
    let path = try lab.template(
      extra: #"""
        "ami_regions": ["us-west-2"],
        "deprecate_at": "2031-06-01T12:00:00Z",
        "deregistration_protection": {"enabled": true, "with_cooldown": true}
        """#)
    let result = try await lab.build([path])
    #expect(result.status == 0, "\(result.stdout)")
    for region in ["us-east-1", "us-west-2"] {
      let image = try #require(try await lab.client(region).describeImages(owners: ["self"]).first, "an AMI in \(region)")
      #expect(image.deprecationTime?.hasPrefix("2031-06-01T12:00:00") == true, "\(region): \(image.deprecationTime ?? "none")")
      #expect(image.deregistrationProtection == "enabled-with-cooldown", "\(region)")
    }
    #expect(lab.moto.requests("EnableImageDeregistrationProtection").allSatisfy { $0["WithCooldown"] == "true" })
  }

  @Test func aFailingProvisionerRollsEverythingBack() async throws {
    let lab = try await EC2Lab()
    let before = try await lab.snapshots()
    let path = try lab.template(provisioners: #"[{"type": "shell", "inline": ["echo about to fail", "exit 1"]}]"#)
    let result = try await lab.build([path])
    #expect(result.status == 1)
    #expect(result.stdout.contains("about to fail"))
    #expect(result.stderr.contains("Script exited with non-zero exit status: 1") || result.stdout.contains("non-zero exit status: 1"))
    #expect(try await lab.leftovers(snapshotsBefore: before).isEmpty)
    #expect(try await lab.client().describeInstances().count == 1, "an instance was launched, and terminated")
  }

  @Test func aTakenNameFailsBeforeLaunchingAndForceReplacesOnlyOurAMI() async throws {
    let lab = try await EC2Lab()
    let path = try lab.template(extra: #""ami_regions": ["us-west-2"]"#, name: "kiln-fixed-name")
    let first = try await lab.build([path])
    #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
    let east = try lab.client()
    let original = try #require(try await east.describeImages(owners: ["self"]).first)

    // Taken in both regions: the build stops before anything is created, naming the AMIs.
    let second = try await lab.build([path])
    #expect(second.status == 1)
    let text = second.stdout + second.stderr
    #expect(text.contains("AMI name 'kiln-fixed-name' is used by an existing AMI: \(original.imageID) in us-east-1"))
    #expect(text.contains("in us-west-2"))
    #expect(try await east.describeInstances().count == 1, "no second instance was launched")

    // -force deregisters the old AMIs (ours) in both regions and builds new ones.
    let forced = try await lab.build(["-force", path])
    #expect(forced.status == 0, "\(forced.stdout)\(forced.stderr)")
    let now = try await east.describeImages(owners: ["self"])
    #expect(now.count == 1)
    #expect(now.first?.imageID != original.imageID)
    #expect(try await lab.client("us-west-2").describeImages(owners: ["self"]).count == 1)
    #expect(forced.stdout.contains("Deregistered AMI \(original.imageID)"))
  }

  @Test func sigintDuringProvisioningCleansUpEverything() async throws {
    let lab = try await EC2Lab()
    let before = try await lab.snapshots()
    let path = try lab.template(provisioners: #"[{"type": "shell", "inline": ["echo started", "sleep 60"]}]"#)
    let kiln = try await lab.start([path])
    try await kiln.waitFor("eks: started")
    #expect(try await lab.client().describeInstances().first?.state == "running")
    kiln.interrupt()
    #expect(try await kiln.finish() == 1)
    #expect(kiln.text.contains("Cleanly cancelled builds after being interrupted."))
    #expect(kiln.text.contains("Terminating the source AWS instance..."))
    #expect(try await lab.leftovers(snapshotsBefore: before).isEmpty)
  }

  /// A proxy before moto holds back the answer to `action`: the image exists in moto, but
  /// kiln is still waiting for its id when it is interrupted.
  func interruptWhileHolding(_ action: String, extra: String) async throws {
    let lab = try await EC2Lab()
    let before = try await lab.snapshots()
    let proxy = try await lab.proxyHoldingAnswers(to: action)
    let path = try lab.template(endpoint: proxy.baseURL, extra: extra)
    let kiln = try await lab.start([path])
    #expect(try await lab.waitForHeldAnswer(proxy) == 1, "kiln reached \(action)")
    #expect(try await lab.client("us-east-1").describeImages(owners: ["self"]).count == 1, "the image exists before the interrupt")
    kiln.interrupt()
    #expect(try await kiln.finish() == 1)
    #expect(kiln.text.contains("Deregistering the AMIs of this failed build"), "\(kiln.text)")
    #expect(try await lab.leftovers(snapshotsBefore: before).isEmpty)
  }

  @Test func sigintRightAfterCreateImageRemovesTheImage() async throws {
    try await interruptWhileHolding("CreateImage", extra: "")
  }

  @Test func sigintDuringTheRegionCopyRemovesTheAMIsInEveryRegion() async throws {
    try await interruptWhileHolding("CopyImage", extra: #""ami_regions": ["us-west-2"]"#)
  }

  /// Ctrl-C while `action` is in flight: the proxy passes it to moto and holds the answer
  /// back, so what it created exists while kiln has no answer. Done twice against one moto;
  /// each time moto must hold nothing of the build afterwards (no key pair, no group, no
  /// instance not terminated, no available volume), and kiln says "cleanly" exactly then.
  @Test(arguments: ["ImportKeyPair", "CreateSecurityGroup", "RunInstances"])
  func sigintWhileACreateCallIsInFlightLeavesNothing(action: String) async throws {
    let lab = try await EC2Lab()
    let before = try await lab.snapshots()
    let east = try lab.client()
    for attempt in 1...2 {
      let proxy = try await lab.proxyHoldingAnswers(to: action)
      let kiln = try await lab.start([try lab.template(endpoint: proxy.baseURL)])
      #expect(try await lab.waitForHeldAnswer(proxy) == 1, "kiln reached \(action)")
      let made: Int
      switch action {
      case "ImportKeyPair": made = try await east.describeKeyPairs().count
      case "CreateSecurityGroup": made = try await east.describeSecurityGroups().filter { $0.groupName != "default" }.count
      default: made = try await east.describeInstances().filter { $0.state != "terminated" }.count
      }
      #expect(made == 1, "\(action) acted in moto before the interrupt")
      kiln.interrupt()
      let status = try await kiln.finish(timeout: 240)
      let left = try await lab.leftovers(snapshotsBefore: before)
      #expect(left.isEmpty, "attempt \(attempt): left \(left)\n\(kiln.text)")
      #expect(kiln.text.contains("Cleanly cancelled builds after being interrupted.") == left.isEmpty, "\(kiln.text)")
      #expect(status == 1)
      if action == "RunInstances" { #expect(kiln.text.contains("RunInstances was not answered; found what it launched: i-")) }
    }
  }

  /// Ctrl-C under `-on-error=abort` leaves everything on purpose: never "cleanly".
  @Test func sigintUnderOnErrorAbortNamesWhatIsLeft() async throws {
    let lab = try await EC2Lab()
    let path = try lab.template(provisioners: #"[{"type": "shell", "inline": ["echo started", "sleep 60"]}]"#)
    let kiln = try await lab.start(["-on-error=abort", path])
    try await kiln.waitFor("eks: started")
    kiln.interrupt()
    #expect(try await kiln.finish(timeout: 240) == 1)
    let instance = try #require(try await lab.client().describeInstances().first { $0.state == "running" }, "abort left the instance")
    #expect(!kiln.text.contains("Cleanly"), "\(kiln.text)")
    #expect(kiln.text.contains("  - instance \(instance.instanceID) in us-east-1"))
  }

  /// A cancel whose cleanup cannot delete what was made says what may be left, not "cleanly".
  @Test func aCancelWhoseCleanupFailsNamesWhatMayBeLeft() async throws {
    let lab = try await EC2Lab()
    let proxy = try await lab.proxyHoldingAnswers(to: "ImportKeyPair")
    let kiln = try await lab.start([try lab.template(endpoint: proxy.baseURL)])
    #expect(try await lab.waitForHeldAnswer(proxy) == 1)
    // From here on EC2 refuses everything: the cleanup cannot delete the key pair.
    try await lab.control(proxy, ["fail": 1000, "status": 403, "code": "UnauthorizedOperation"])
    kiln.interrupt()
    #expect(try await kiln.finish(timeout: 240) == 1, "\(kiln.text)")
    let key = try #require(try await lab.client().describeKeyPairs().first, "the key pair is left in moto")
    #expect(!kiln.text.contains("Cleanly"), "\(kiln.text)")
    #expect(kiln.text.contains("the cleanup did not finish. May be left behind"))
    #expect(kiln.text.contains("  - key pair \(key.keyName) in us-east-1"))
  }

  /// A `temporary_key_pair_name` that already names a key pair: EC2 refuses the import, and
  /// the cleanup must leave that key pair alone (it is not this build's).
  @Test func aRefusedKeyPairImportLeavesTheSameNamedKeyPairAlone() async throws {
    let lab = try await EC2Lab()
    let before = try await lab.snapshots()
    let owner = try SSHKeyPair.generateEd25519(comment: "someone-elses")
    _ = try await lab.client().importKeyPair(name: "shared-name", publicKey: owner.publicKeyLine)
    let result = try await lab.build([try lab.template(extra: #""temporary_key_pair_name": "shared-name""#)])
    #expect(result.status == 1)
    #expect((result.stdout + result.stderr).contains("InvalidKeyPair.Duplicate"), "\(result.stdout)\(result.stderr)")
    #expect(!result.stdout.contains("Deleting temporary keypair"), "\(result.stdout)")
    let kept = try await lab.client().describeKeyPairs(names: ["shared-name"], includePublicKey: true)
    #expect(kept.count == 1, "the other owner's key pair was deleted")
    let left = try await lab.leftovers(snapshotsBefore: before)
    #expect(left == ["key pair shared-name in us-east-1"], "only the other owner's key pair remains: \(left)")
  }

  /// EC2 refuses RunInstances with an encoded authorization failure message (AWS's documented
  /// error body, from the fault proxy): the build's error says what STS decoded (asked at
  /// `custom_endpoint_sts`, here moto through the proxy) instead of the blob, and the failed
  /// build leaves nothing.
  @Test func anUnauthorizedLaunchSaysWhatSTSDecoded() async throws {
    let lab = try await EC2Lab()
    let before = try await lab.snapshots()
    let proxy = try await LoopbackServer(python: TestPaths.fixture("fault_proxy.py"), arguments: [lab.moto.endpoint.absoluteString])
    let document = #"""
      {"allowed":false,"explicitDeny":false,"matchedStatements":{"items":[]},"failures":{"items":[]},
       "context":{"principal":{"id":"AIDAEXAMPLE","arn":"arn:aws:iam::123456789012:user/kiln-ci"},"action":"ec2:RunInstances",
         "resource":"arn:aws:ec2:us-east-1:123456789012:instance/*",
         "conditions":{"items":[{"key":"ec2:InstanceType","values":{"items":[{"value":"m5.large"}]}}]}}}
      """#
    let encoded = Data(document.utf8).base64EncodedString()
    try await lab.control(
      proxy,
      [
        "fail": 1, "fail_action": "RunInstances", "status": 403, "code": "UnauthorizedOperation",
        "message": "You are not authorized to perform this operation. Encoded authorization failure message: \(encoded)",
      ])
    let path = try lab.template(endpoint: proxy.baseURL, extra: #""custom_endpoint_sts": "\#(proxy.baseURL.absoluteString)""#)
    let result = try await lab.build([path])
    let text = result.stdout + result.stderr
    #expect(result.status == 1, "\(text)")
    #expect(
      text.contains(
        "EC2 RunInstances: UnauthorizedOperation: You are not authorized to perform this operation. (its encoded authorization failure message is decoded below)"
      ), "\(text)")
    #expect(
      text.contains(
        "STS decoded the refusal: arn:aws:iam::123456789012:user/kiln-ci may not ec2:RunInstances on arn:aws:ec2:us-east-1:123456789012:instance/*: no policy statement allows it. The request's context: ec2:InstanceType=m5.large"
      ), "\(text)")
    #expect(!text.contains(encoded), "\(text)")
    #expect(lab.moto.requests("DecodeAuthorizationMessage").count == 1)
    #expect(try await lab.leftovers(snapshotsBefore: before).isEmpty)
  }

  @Test func encryptBootGoesThroughAnIntermediaryImageThatIsRemoved() async throws {
    let lab = try await EC2Lab()
    let path = try lab.template(extra: #""encrypt_boot": true, "ami_regions": ["us-west-2"], "tags": {"Name": "encrypted"}"#, name: "kiln-encrypted")
    let result = try await lab.build([path])
    #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    #expect(result.stdout.contains("Deregistering the intermediary AMI"))
    var finals: Set<String> = []
    for region in ["us-east-1", "us-west-2"] {
      let images = try await lab.client(region).describeImages(owners: ["self"])
      #expect(images.map(\.name) == ["kiln-encrypted"], "only the final AMI is left in \(region)")
      #expect(images.first?.tags.contains(EC2Tag("Name", "encrypted")) == true)
      finals.formUnion(images.map(\.imageID))
    }
    // The final AMIs are encrypted copies of the intermediary. moto's CopyImage ignores
    // Encrypted (its copies get fresh unencrypted snapshots), so the test reads what moto was
    // asked: one copy per region, each encrypted, each from the intermediary image the build
    // made with CreateImage and then removed.
    let created = lab.moto.requests("CreateImage")
    #expect(created.count == 1)
    #expect(created.first?["Name"] != "kiln-encrypted", "the image made from the instance is the intermediary")
    let copies = lab.moto.requests("CopyImage")
    #expect(copies.count == 2)
    for copy in copies {
      #expect(copy["Encrypted"] == "true")
      #expect(copy["Name"] == "kiln-encrypted")
      #expect(copy["SourceRegion"] == "us-east-1")
      let source = try #require(copy["SourceImageId"])
      #expect(!finals.contains(source), "copied from the intermediary, which is gone")
    }
    #expect(Set(copies.compactMap { $0["SourceImageId"] }).count == 1)
    #expect(lab.moto.requests("DeregisterImage").compactMap { $0["ImageId"] } == [copies.first?["SourceImageId"]].compactMap { $0 })
  }

  @Test func aSpotBuildAsksForASpotInstanceAndSkipsTheStop() async throws {
    let lab = try await EC2Lab()
    let path = try lab.template(extra: #""spot_price": "auto", "spot_tags": {"market": "spot"}"#)
    let result = try await lab.build([path])
    #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    #expect(result.stdout.contains("Launching a spot AWS instance..."))
    #expect(!lab.moto.actions().contains { $0.action == "StopInstances" }, "a one-time spot instance is imaged without a stop")
    let instance = try #require(try await lab.client().describeInstances().first)
    #expect(instance.lifecycle == "spot", "RunInstances asked for the spot market")
    #expect(instance.tags.contains(EC2Tag("market", "spot")))
    // The Spot Instance request the launch made carries the same tags, from RunInstances.
    let requests = try await lab.kilnTagged().filter { $0.key.hasPrefix("spot-instance") }.flatMap(\.value.values)
    #expect(requests.count == 1)
    #expect(requests.first?.contains(EC2Tag("market", "spot")) == true, "\(requests)")
    #expect(requests.first?.contains { $0.key == "kiln:run" } == true, "\(requests)")
    #expect(!lab.moto.requests("CreateTags").contains { $0["Tag.1.Key"] != "kiln:state" }, "only the completion mark is added later")
    #expect(try await lab.client().describeImages(owners: ["self"]).count == 1)
  }

  @Test func skipCreateAMIProvisionsAndCreatesNothing() async throws {
    let lab = try await EC2Lab()
    let before = try await lab.snapshots()
    let path = try lab.template(extra: #""skip_create_ami": true"#)
    let result = try await lab.build([path])
    #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    #expect(result.stdout.contains("provisioned on"))
    #expect(result.stdout.contains("Builds finished but no artifacts were created."))
    #expect(try await lab.leftovers(snapshotsBefore: before).isEmpty)
    #expect(
      !FileManager.default.fileExists(atPath: lab.work.appendingPathComponent("manifest.json").path), "post-processors do not run without an artifact"
    )
  }

  @Test func sweepFindsAndRemovesWhatAKilledBuildLeftButKeepsFinishedAMIs() async throws {
    let lab = try await EC2Lab()
    let before = try await lab.snapshots(["us-east-1"])
    let good = try await lab.build([try lab.template(name: "kiln-finished")])
    #expect(good.status == 0, "\(good.stdout)\(good.stderr)")
    let east = try lab.client()
    let finished = try #require(try await east.describeImages(owners: ["self"]).first)

    // kill -9 right after CreateImage: no cleanup can run.
    let proxy = try await lab.proxyHoldingAnswers(to: "CreateImage")
    let kiln = try await lab.start([try lab.template(endpoint: proxy.baseURL, name: "kiln-killed")])
    // (A `for … where` would go on asking after the image appeared, and under load outlast
    // the held answer: the build would finish before the kill.)
    for _ in 0..<600 {
      if try await east.describeImages(owners: ["self"]).count >= 2 { break }
      try await Task.sleep(for: .milliseconds(100))
    }
    #expect(try await east.describeImages(owners: ["self"]).count == 2, "the killed build reached CreateImage")
    kiln.process.signal(SIGKILL)
    _ = try await kiln.finish()
    let sweep = ["sweep", "-region", "us-east-1", "-endpoint", lab.moto.endpoint.absoluteString]
    let listed = try await KilnProcess.run(sweep, in: lab.work, environment: lab.environment)
    #expect(listed.status == 0, "\(listed.stdout)\(listed.stderr)")
    for kind in ["left: instance i-", "left: AMI ami-", "left: security group sg-"] {
      #expect(listed.stdout.contains(kind), "\(kind) in:\n\(listed.stdout)")
    }
    // The temporary key pair went as soon as the instance ran, long before the kill.
    #expect(!listed.stdout.contains("left: key pair"), "\(listed.stdout)")
    #expect(!listed.stdout.contains(finished.imageID), "a finished build's AMI is a result, not a leftover")
    #expect(listed.stdout.contains("run again with -delete"))

    let removed = try await KilnProcess.run(sweep + ["-delete"], in: lab.work, environment: lab.environment)
    #expect(removed.status == 0, "\(removed.stdout)\(removed.stderr)")
    let left = try await lab.leftovers(["us-east-1"], snapshotsBefore: before).filter {
      !$0.contains(finished.imageID) && !finished.snapshotIDs.contains(where: $0.contains)
    }
    #expect(left.isEmpty, "left after the sweep: \(left)")
    #expect(try await east.describeImages(owners: ["self"]).map(\.imageID) == [finished.imageID])
    let again = try await KilnProcess.run(sweep, in: lab.work, environment: lab.environment)
    #expect(again.stdout.contains("Nothing left by kiln builds"))
  }

  @Test func aSweepThatCannotAuthenticateNeverSaysTheRegionIsClean() async throws {
    let lab = try await EC2Lab()
    var environment = lab.environment
    environment["AWS_SECRET_ACCESS_KEY"] = "wrong" + lab.moto.secretAccessKey
    let result = try await KilnProcess.run(
      ["sweep", "-region", "us-east-1", "-endpoint", lab.moto.endpoint.absoluteString], in: lab.work, environment: environment)
    #expect(result.status == 1)
    #expect(!result.stdout.contains("Nothing left"), "\(result.stdout)")
    #expect(result.stderr.contains("error: could not look in us-east-1"), "\(result.stderr)")
    // The sweep's first look (open Spot requests) was refused: moto refused the signature,
    // and nothing else was looked at.
    let looks = lab.moto.actions().filter { $0.action.hasPrefix("Describe") }
    #expect(looks.map(\.action) == ["DescribeSpotInstanceRequests"], "\(looks)")
    #expect(looks.allSatisfy { $0.status.hasPrefix("4") }, "\(looks)")
  }

  @Test func aSweepCallsCleanOnlyTheRegionsItCouldLookIn() async throws {
    let lab = try await EC2Lab()
    // The first request (the first region's first look) is refused; the rest pass to moto.
    let proxy = try await LoopbackServer(python: TestPaths.fixture("fault_proxy.py"), arguments: [lab.moto.endpoint.absoluteString])
    try await lab.control(proxy, ["fail": 1, "status": 401, "code": "AuthFailure"])
    let result = try await KilnProcess.run(
      ["sweep", "-region", "us-west-2,us-east-1", "-endpoint", proxy.baseURL.absoluteString], in: lab.work, environment: lab.environment)
    #expect(result.status == 1)
    #expect(result.stdout.contains("Nothing left by kiln builds in us-east-1."), "\(result.stdout)")
    #expect(!result.stdout.contains("us-west-2"), "\(result.stdout)")
    #expect(result.stderr.contains("error: could not look in us-west-2"), "\(result.stderr)")
  }

  @Test func onErrorAbortLeavesTheResourcesAndNamesThem() async throws {
    let lab = try await EC2Lab()
    let path = try lab.template(provisioners: #"[{"type": "shell", "inline": ["exit 3"]}]"#)
    let result = try await lab.build(["-on-error=abort", path])
    #expect(result.status == 1)
    let east = try lab.client()
    let instance = try #require(try await east.describeInstances().first)
    #expect(instance.state == "running")
    let keyPair = try #require(try await east.describeKeyPairs().first)
    let group = try #require(try await east.describeSecurityGroups().first { $0.groupName != "default" })
    let text = result.stdout + result.stderr
    #expect(text.contains("instance \(instance.instanceID) in us-east-1"))
    #expect(text.contains("key pair \(keyPair.keyName) in us-east-1"))
    #expect(text.contains("security group \(group.groupID) in us-east-1"))
    #expect(keyPair.tags.contains { $0.key == "kiln:run" }, "left resources can be found by their tags")
  }
}

@Suite struct AMIArtifactTests {
  @Test func idAndSummaryFollowPacker() {
    let artifact = AMIArtifact(amis: ["us-west-2": "ami-2", "eu-west-1": "ami-3", "us-east-1": "ami-1"], generatedData: [:])
    #expect(artifact.id == "eu-west-1:ami-3,us-east-1:ami-1,us-west-2:ami-2")
    #expect(artifact.summary == "AMIs were created:\neu-west-1: ami-3\nus-east-1: ami-1\nus-west-2: ami-2\n")
    #expect(artifact.builderID == "mitchellh.amazonebs")
  }
}
