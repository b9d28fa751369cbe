import Foundation
import KilnBuilders
import KilnCore
import KilnPostProcessors
import KilnProvisioners
import Testing
import _KilnTestSupport

/// No configuration key is accepted and silently dropped (issue 11, item 7).
///
/// How it works, so that adding a key and never using it fails here:
/// 1. **Every key.** Each plugin decodes a configuration through `ConfigReader`, which
///    records every key it is asked for (`DiagnosticSink.keysAsked`), blocks and lists of
///    blocks included. The walk decodes `{}`, then again with every block it learned of
///    present (`{}` or `[{}]`), until no new key turns up: the keys of nested blocks too.
/// 2. **Each key has one of three fates**, checked, never trusted:
///    - *accepted without effect*: declared with `ConfigReader.acceptWithoutEffect(_:because:)`;
///      setting it must make the decoder warn "'KEY' is accepted for compatibility and has no
///      effect: REASON" (which `kiln validate` and `kiln build` print). Kept to keys Packer
///      itself accepts without effect in the same situation.
///    - *refused*: listed in `refused` with a value; decoding that value must be an error
///      naming the key.
///    - *used*: the Swift property the key fills — read off the decoding source (`name =
///      r.string("key")`, `device.name = entry.int("key")`, `label: block.int("key")`), or from
///      `properties` where the decoder goes through a local or a helper — must be read in the
///      plugin's run code (the non-decoding files in `runCode`), not only assigned.
///    Keys the communicator decodes are checked once, as the communicator's, not per builder.
///
/// The usage check reads source text: a property name that also names something else in the
/// run code could hide an unused key, so names stay specific.
@Suite struct KeyEffectPluginValidationTests {
  struct Plugin: Sendable, CustomStringConvertible {
    let name: String
    let lateKeys: [String: Set<String>]
    let decode: @Sendable (inout ConfigReader) -> Void
    /// Repository paths of the files that decode it (where key → property is read off).
    let decodingCode: [String]
    /// Repository paths (files or directories) of the code that runs it.
    let runCode: [String]
    var description: String { name }
  }

  static let registry: PluginRegistry = {
    var registry = PluginRegistry()
    registry.registerBuilders()
    registry.registerProvisioners()
    registry.registerPostProcessors()
    return registry
  }()

  static let communicatorDecoding = ["Sources/KilnCore/Config/CommunicatorConfig.swift"]
  static let ebsDecoding = [
    "Sources/KilnBuilders/AmazonEBS/AmazonEBSConfig+Decoding.swift", "Sources/KilnBuilders/AmazonCommon/AWSAccessConfig.swift",
    "Sources/KilnBuilders/AmazonCommon/AMIFilter.swift",
  ]
  static let scriptDecoding = ["Sources/KilnProvisioners/ScriptSource.swift"]
  static let dataSourceDecoding = [
    "Sources/KilnBuilders/AmazonCommon/AWSAccessConfig.swift", "Sources/KilnBuilders/AmazonDataSources/AmazonDataSources.swift",
  ]
  static let dataSourceRun = ["Sources/KilnBuilders/AmazonDataSources", "Sources/KilnBuilders/AmazonCommon"]

  static let plugins: [Plugin] = {
    func builder(_ type: String, decoding: [String], run: [String]) -> Plugin {
      let plugin = registry.builders[type]!
      return Plugin(
        name: "builder \(type)", lateKeys: plugin.lateKeys, decode: { _ = registry.builders[type]!.init(from: &$0) }, decodingCode: decoding,
        runCode: run)
    }
    func provisioner(_ type: String, decoding: [String], run: [String]) -> Plugin {
      let plugin = registry.provisioners[type]!
      return Plugin(
        name: "provisioner \(type)", lateKeys: plugin.lateKeys, decode: { _ = registry.provisioners[type]!.init(from: &$0) }, decodingCode: decoding,
        runCode: run)
    }
    func postProcessor(_ type: String, decoding: [String], run: [String]) -> Plugin {
      let plugin = registry.postProcessors[type]!
      return Plugin(
        name: "post-processor \(type)", lateKeys: plugin.lateKeys, decode: { _ = registry.postProcessors[type]!.init(from: &$0) },
        decodingCode: decoding, runCode: run)
    }
    let shellLocal = ["Sources/KilnProvisioners/ShellLocalConfig.swift"] + scriptDecoding
    return [
      Plugin(
        name: "communicator", lateKeys: [:], decode: { _ = CommunicatorConfig.read(&$0) }, decodingCode: communicatorDecoding,
        runCode: ["Sources/KilnSSH", "Sources/KilnBuilders", "Sources/KilnCore/Plugins"]),
      builder("amazon-ebs", decoding: ebsDecoding, run: ["Sources/KilnBuilders/AmazonEBS", "Sources/KilnBuilders/AmazonCommon"]),
      builder("null", decoding: ["Sources/KilnBuilders/Null/NullBuilder.swift"], run: ["Sources/KilnBuilders/Null"]),
      Plugin(
        name: "data amazon-ami", lateKeys: [:], decode: { _ = AmazonAMIDataSource(name: "x", from: &$0) },
        decodingCode: ["Sources/KilnBuilders/AmazonCommon/AMIFilter.swift", "Sources/KilnBuilders/AmazonDataSources/AmazonAMIDataSource.swift"]
          + dataSourceDecoding, runCode: dataSourceRun),
      Plugin(
        name: "data amazon-parameterstore", lateKeys: [:], decode: { _ = AmazonParameterStoreDataSource(name: "x", from: &$0) },
        decodingCode: ["Sources/KilnBuilders/AmazonDataSources/AmazonParameterStoreDataSource.swift"] + dataSourceDecoding,
        runCode: dataSourceRun),
      provisioner(
        "shell", decoding: ["Sources/KilnProvisioners/ShellProvisioner.swift"] + scriptDecoding, run: ["Sources/KilnProvisioners/Shell+Run.swift"]),
      provisioner("file", decoding: ["Sources/KilnProvisioners/ShellProvisioner.swift"], run: ["Sources/KilnProvisioners/Shell+Run.swift"]),
      provisioner("shell-local", decoding: shellLocal, run: ["Sources/KilnProvisioners/Shell+Run.swift"]),
      provisioner("breakpoint", decoding: ["Sources/KilnProvisioners/ShellProvisioner.swift"], run: ["Sources/KilnProvisioners/Shell+Run.swift"]),
      postProcessor(
        "manifest", decoding: ["Sources/KilnPostProcessors/PostProcessors.swift"], run: ["Sources/KilnPostProcessors/PostProcessors+Run.swift"]),
      postProcessor(
        "checksum", decoding: ["Sources/KilnPostProcessors/PostProcessors.swift"], run: ["Sources/KilnPostProcessors/Checksum+Run.swift"]),
      postProcessor(
        "shell-local", decoding: shellLocal, run: ["Sources/KilnPostProcessors/PostProcessors+Run.swift", "Sources/KilnProvisioners/Shell+Run.swift"]),
    ]
  }()

  /// Keys Kiln refuses when set (Packer acts on them; Kiln cannot), with a value that must be
  /// an error naming the key.
  static let refused: [String: String] = [
    "ssh_disable_agent_forwarding": "false",
    "ssh_file_transfer_method": #""scp""#,
    "vault_aws_engine": #"{"name": "x"}"#,
    "temporary_iam_instance_profile_policy_document": #"{"Version": "2012-10-17"}"#,
    "mfa_code": #""123456""#,
    "decode_authorization_messages": "true",
    "skip_metadata_api_check": "true",
    "block_duration_minutes": "60",
    "spot_allocation_strategy": #""lowest-price""#,
    "boot_mode": #""uefi""#,
    "uefi_data": #""QU1aTlVFRkk=""#,
    "tpm_support": #""v2.0""#,
    "fast_launch": #"{"enable_fast_launch": true}"#,
    "fleet_tags": #"{"a": "b"}"#,
    "fleet_tag": #"[{"key": "a", "value": "b"}]"#,
    "fleet_tag[].key": #""a""#,
    "fleet_tag[].value": #""b""#,
    "ssh_private_ip": "true",
    "ssh_bastion_interactive": "true",
    "ssh_bastion_certificate_file": #""cert.pub""#,
    "ssh_proxy_host": #""proxy""#,
    "ssh_proxy_port": "1080",
    "ssh_proxy_username": #""u""#,
    "ssh_proxy_password": #""p""#,
    "ssh_ciphers": #"["aes128-ctr"]"#,
    "ssh_key_exchange_algorithms": #"["curve25519-sha256"]"#,
    "ssh_certificate_file": #""cert.pub""#,
    "ssh_local_tunnels": #"["8080:localhost:80"]"#,
    "ssh_remote_tunnels": #"["8080:localhost:80"]"#,
    "ssh_interface_ip_version": #""ipv6""#,
  ]

  /// Keys whose property the decoder fills through a local or a helper: key → property.
  static let properties: [String: String] = [
    // amazon-ebs
    "security_group_id": "securityGroupIDs",
    "temporary_security_group_source_cidrs": "temporarySecurityGroupSourceCIDRs",
    "ami_regions": "amiRegions",
    "deprecate_at": "deprecateAt",
    "enable_t2_unlimited": "unlimitedCredits",
    "license_specifications[].license_configuration_request.license_configuration_arn": "licenseConfigurationARNs",
    "placement.tenancy": "tenancy",
    "vpc_filter.filters": "vpcFilter",
    "security_group_filter.filters": "securityGroupFilter",
    "aws_polling.delay_seconds": "delaySeconds",
    "aws_polling.max_attempts": "maxAttempts",
    "tags": "tags", "tag[].key": "tags", "tag[].value": "tags",
    "snapshot_tags": "snapshotTags", "snapshot_tag[].key": "snapshotTags", "snapshot_tag[].value": "snapshotTags",
    "run_tags": "runTags", "run_tag[].key": "runTags", "run_tag[].value": "runTags",
    "run_volume_tags": "runVolumeTags", "run_volume_tag[].key": "runVolumeTags", "run_volume_tag[].value": "runVolumeTags",
    "spot_tags": "spotTags", "spot_tag[].key": "spotTags", "spot_tag[].value": "spotTags",
    // communicator
    "communicator": "kind",
    "temporary_key_pair_type": "temporaryKeyPairType",
    "ssh_timeout": "timeout",
    "ssh_wait_timeout": "timeout",
    "ssh_bastion_host": "bastion",
    // shell, shell-local, file
    "inline": "source", "script": "source", "scripts": "source", "command": "source",
    "environment_vars": "environment", "env": "environment",
    "valid_exit_codes": "validExitCodes",
    "source": "sources", "sources": "sources",
    "direction": "direction",
    "remote_file": "remotePath",
  ]

  /// Keys whose whole effect is on validation itself (Packer's too), with a configuration
  /// the key must change the verdict of: `generated` lets a source that does not exist yet
  /// (made by an earlier provisioner) pass.
  static let validationOnly: [String: [String: String]] = [
    "generated": ["source": #""/nonexistent/kiln-generated-file""#, "destination": #""/tmp/x""#]
  ]

  // MARK: - The walk

  static func decode(_ plugin: Plugin, _ json: String) throws -> DiagnosticSink {
    let root = try JSONReader.read(json).root
    let sink = DiagnosticSink()
    var reader = ConfigReader(
      node: root, context: RenderContext(phase: .builder, clock: BuildClock()), lateKeys: plugin.lateKeys, label: plugin.name, sink: sink)
    plugin.decode(&reader)
    reader.finish()
    return sink
  }

  /// A configuration with the blocks in `shapes` present (empty) and `values` set, as JSON.
  static func json(_ shapes: [String: DiagnosticSink.KeyShape], values: [String: String] = [:], prefix: String = "") -> String {
    var members: [String] = []
    let direct = { (path: String) in path.hasPrefix(prefix) && !path.dropFirst(prefix.count).contains(".") }
    for (path, literal) in values.sorted(by: { $0.key < $1.key }) where direct(path) {
      members.append("\"\(path.dropFirst(prefix.count))\": \(literal)")
    }
    for (path, shape) in shapes.sorted(by: { $0.key < $1.key }) where direct(path) && values[path] == nil {
      let name = path.dropFirst(prefix.count)
      switch shape {
      case .value: continue
      case .object: members.append("\"\(name)\": \(json(shapes, values: values, prefix: path + "."))")
      case .objectList: members.append("\"\(name)\": [\(json(shapes, values: values, prefix: path + "[]."))]")
      }
    }
    return "{" + members.joined(separator: ", ") + "}"
  }

  /// Every key `plugin` decodes, nested ones included, with their shapes.
  static func keys(of plugin: Plugin) throws -> [String: DiagnosticSink.KeyShape] {
    var asked: [String: DiagnosticSink.KeyShape] = [:]
    for _ in 0..<10 {
      let found = try decode(plugin, json(asked)).keysAsked
      if found.count == asked.count { break }
      asked = found
    }
    return asked
  }

  static func source(_ paths: [String]) throws -> [(file: String, text: String)] {
    let fileManager = FileManager.default
    var result: [(String, String)] = []
    for path in paths {
      let url = TestPaths.repository.appendingPathComponent(path)
      var isDirectory: ObjCBool = false
      guard fileManager.fileExists(atPath: url.path, isDirectory: &isDirectory) else { throw Missing(path: path) }
      let files =
        isDirectory.boolValue
        ? (fileManager.enumerator(atPath: url.path)?.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") }.map { "\(path)/\($0)" } ?? [])
        : [path]
      for file in files.sorted() {
        result.append((file, try String(contentsOf: TestPaths.repository.appendingPathComponent(file), encoding: .utf8)))
      }
    }
    return result
  }

  struct Missing: Error { let path: String }

  /// The property a key fills, read off the decoding line: `name = r.bool("key")`,
  /// `holder.name = entry.int("key")` or `name: block.int("key")`. Nil for a local.
  static func property(of key: String, in decoding: [(file: String, text: String)]) -> String? {
    let name = String(key.split(separator: ".").last ?? "")
    for (_, text) in decoding {
      for line in text.split(separator: "\n") where line.contains("(\"\(name)\"") {
        let before = String(line[..<line.range(of: "(\"\(name)\"")!.lowerBound])
        guard let match = before.firstMatch(of: /([A-Za-z_][\w.]*)\s*(=|:)\s*[^=:]*$/) else { continue }
        let target = String(match.1)
        if target.hasPrefix("let ") || target == "let" || target == "var" { continue }
        if line.contains("let \(target) =") || line.contains("var \(target) =") { continue }
        return String(target.split(separator: ".").last ?? "")
      }
    }
    return nil
  }

  /// Whether `property` is read (not only assigned) in `code`.
  static func isRead(_ property: String, in code: [(file: String, text: String)]) throws -> Bool {
    // Not a longer name, not an argument label, not the target of an assignment, and not in
    // a comment: a generic name (`timeout`) in prose cannot count as a use. (A bare name is
    // a read too: run code in an extension of the config reads its members without `self.`.)
    let pattern = try NSRegularExpression(pattern: "(?<![\\w])\(property)(?![\\w])(?!\\s*:)(?!\\s*=[^=])")
    return code.contains { file in
      let text = codeOnly(file.text)
      return pattern.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }
  }

  /// `text` without its `//` comments (a `//` inside a string literal, as in a URL, stays).
  static func codeOnly(_ text: String) -> String {
    var out = ""
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
      var inString = false
      var previous: Character = " "
      var kept = ""
      var index = line.startIndex
      while index < line.endIndex {
        let character = line[index]
        if !inString, character == "/", line[line.index(after: index)...].hasPrefix("/") { break }
        if character == "\"" && previous != "\\" { inString.toggle() }
        kept.append(character)
        previous = character
        index = line.index(after: index)
      }
      out += kept + "\n"
    }
    return out
  }

  enum Fate: Equatable {
    case withoutEffect, refused, validation
    case used(String)
  }

  /// Why `key` of `plugin` is fine, or what is wrong with it.
  static func fate(of key: String, _ plugin: Plugin, shapes: [String: DiagnosticSink.KeyShape], noEffect: [String: String]) throws -> Result<
    Fate, Problem
  > {
    let name = String(key.split(separator: ".").last ?? "").replacingOccurrences(of: "[]", with: "")
    if let reason = noEffect[key] {
      let warnings = try decode(plugin, json(shapes, values: [key: "\"1\""])).diagnostics.warnings.map(\.message)
      let expected = "'\(name)' is accepted for compatibility and has no effect: \(reason)"
      return warnings.contains { $0.hasSuffix(expected) }
        ? .success(.withoutEffect) : .failure(Problem("\(key): setting it does not warn \"\(expected)\" (warnings: \(warnings))"))
    }
    if let value = refused[key] {
      let errors = try decode(plugin, json(shapes, values: [key: value])).diagnostics.errors.map(\.message)
      // A key in a refused block (`fleet_tag[].key`) is refused with its block.
      let names = key.split(separator: ".").map { $0.replacingOccurrences(of: "[]", with: "") }
      return errors.contains { error in names.contains { error.contains("'\($0)'") } }
        ? .success(.refused) : .failure(Problem("\(key) is listed as refused, but \(value) is accepted (errors: \(errors))"))
    }
    if let base = validationOnly[key] {
      let without = try decode(plugin, json(shapes, values: base)).diagnostics.errors.map(\.message)
      let with = try decode(plugin, json(shapes, values: base.merging([key: "true"]) { $1 })).diagnostics.errors.map(\.message)
      return without != with ? .success(.validation) : .failure(Problem("\(key): setting it changes nothing, even in validation"))
    }
    let decoding = try source(plugin.decodingCode)
    guard let property = properties[key] ?? property(of: key, in: decoding) else {
      return .failure(
        Problem(
          "\(key): no property found for it in \(plugin.decodingCode.joined(separator: ", ")); if it has no effect, declare it with acceptWithoutEffect (only where Packer ignores it too), refuse it with an error, or name its property in `properties`"
        ))
    }
    let decodingFiles = Set(plugin.decodingCode)
    let run = try source(plugin.runCode).filter { !decodingFiles.contains($0.file) && !$0.file.hasSuffix("Config.swift") }
    return try isRead(property, in: run)
      ? .success(.used(property))
      : .failure(Problem("\(key) fills '\(property)', which no run code of \(plugin.name) reads: the option is accepted and silently dropped"))
  }

  struct Problem: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
  }

  // MARK: - Tests

  @Test(arguments: plugins)
  func everyKeyIsUsedRefusedOrWarnedAbout(plugin: Plugin) throws {
    let shapes = try Self.keys(of: plugin)
    let sink = try Self.decode(plugin, Self.json(shapes))
    var communicatorKeys: Set<String> = []
    if plugin.name != "communicator" {
      communicatorKeys = Set(try Self.keys(of: Self.plugins[0]).keys)
    }
    let keys = shapes.filter { $0.value == .value && !communicatorKeys.contains($0.key) }.keys.sorted()
    #expect(!keys.isEmpty || plugin.name == "builder null", "\(plugin.name) decodes no key: the walk is broken")
    for key in keys {
      if case .failure(let problem) = try Self.fate(of: key, plugin, shapes: shapes, noEffect: sink.keysWithoutEffect) {
        Issue.record("\(plugin.name): \(problem)")
      }
    }
  }

  /// Found by the walk: `tempfile_extension` was decoded and never used.
  @Test func shellLocalNamesItsInlineScriptWithTheTempfileExtension() async throws {
    let work = try Scratch.directory("kiln-ext")
    defer { try? FileManager.default.removeItem(at: work) }
    let template =
      #"{"builders": [{"type": "null", "communicator": "none"}], "provisioners": [{"type": "shell-local", "inline": ["echo \"script=$0\""], "tempfile_extension": "bash"}]}"#
    try template.write(to: work.appendingPathComponent("t.json"), atomically: true, encoding: .utf8)
    let build = try await KilnProcess.run(["build", "-color=false", "t.json"], in: work)
    #expect(build.status == 0, "\(build.stdout)\(build.stderr)")
    #expect(build.stdout.contains(/script=\S*kiln-inline-[-0-9A-F]+\.bash/), "\(build.stdout)")
  }

  @Test func theWalkFindsNestedKeys() throws {
    let ebs = try #require(Self.plugins.first { $0.name == "builder amazon-ebs" })
    let keys = try Self.keys(of: ebs)
    for key in [
      "metadata_options.http_tokens", "launch_block_device_mappings[].iops", "placement.host_id",
      "license_specifications[].license_configuration_request.license_configuration_arn", "temporary_security_group_source_public_ip",
      "instance_types", "spot_instance_types",
    ] {
      #expect(keys[key] == .value, "\(key) was not found")
    }
  }

  @Test func aKeyAcceptedWithoutEffectIsAWarningInValidateAndBuild() async throws {
    let work = try Scratch.directory("kiln-noeffect")
    defer { try? FileManager.default.removeItem(at: work) }
    let template =
      #"{"builders": [{"type": "null", "communicator": "none", "winrm_host": "w"}], "provisioners": [{"type": "shell-local", "inline": ["true"], "use_linux_pathing": true}]}"#
    try template.write(to: work.appendingPathComponent("t.json"), atomically: true, encoding: .utf8)
    let validate = try await KilnProcess.run(["validate", "t.json"], in: work)
    #expect(validate.status == 0, "\(validate.stdout)\(validate.stderr)")
    let build = try await KilnProcess.run(["build", "-color=false", "t.json"], in: work)
    #expect(build.status == 0, "\(build.stdout)\(build.stderr)")
    for output in [validate.stdout + validate.stderr, build.stdout + build.stderr] {
      #expect(
        output.contains("'winrm_host' is accepted for compatibility and has no effect: it is used only with \"communicator\": \"winrm\""), "\(output)"
      )
      #expect(output.contains("'use_linux_pathing' is accepted for compatibility and has no effect"), "\(output)")
    }
  }
}
