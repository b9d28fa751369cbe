import Foundation
import KilnAWS
import KilnBuilders
import KilnCore
import Synchronization
import Testing
import _KilnTestSupport

/// The `amazon-ami` and `amazon-parameterstore` data sources: their configurations decoded
/// like any plugin's (positions on every problem), and evaluated against moto (signatures
/// checked, every request checked against AWS's model by the fixture).
@Suite(.serialized) struct AmazonDataSourceTests {
  static let moto = Shared { try await MotoServer() }

  /// A block body as the HCL loader hands it over: JSON with positions (`data.pkr.json`).
  static func body(_ json: String) throws -> JSONNode {
    try JSONReader.read(json, path: "data.pkr.json").root
  }

  /// The access options that reach moto, and the environment that sends SSM there.
  static func access() async throws -> (options: String, context: DataSourceContext) {
    let moto = try await moto.get()
    let options =
      #""region": "us-east-1", "access_key": "\#(moto.accessKeyID)", "secret_key": "\#(moto.secretAccessKey)", "custom_endpoint_ec2": "\#(moto.endpoint.absoluteString)", "max_retries": 1"#
    let home = try Scratch.directory("kiln-data-home")
    return (options, DataSourceContext(environment: ["HOME": home.path, "AWS_ENDPOINT_URL_SSM": moto.endpoint.absoluteString]))
  }

  static func decoded<T: DataSourcePlugin>(_ type: T.Type, _ json: String, name: String = "x") throws -> T {
    let (plugin, diagnostics) = T.decode(configuration: try body(json), name: name)
    #expect(!diagnostics.hasErrors, "\(diagnostics.items)")
    return try #require(plugin)
  }

  // MARK: - Configuration

  struct Row: Sendable, CustomStringConvertible {
    let type: String
    let json: String
    /// Each expected error: `line:column: message`.
    let errors: [String]
    var description: String { "\(type) \(json)" }
  }

  static let rows: [Row] = [
    Row(type: "amazon-parameterstore", json: #"{"name": "/eks/ami"}"#, errors: []),
    Row(
      type: "amazon-parameterstore", json: "{\n  \"with_decryption\": true\n}",
      errors: [#"1:1: data "amazon-parameterstore" "x": 'name' must be specified"#]),
    Row(
      type: "amazon-parameterstore", json: "{\"name\": \"/a\",\n \"nmae\": \"/b\"}",
      errors: [#"2:2: data "amazon-parameterstore" "x": unknown configuration key 'nmae'; did you mean 'name'?"#]),
    Row(
      type: "amazon-parameterstore", json: "{\"name\": \"/a\", \"with_decryption\": \"maybe\"}",
      errors: [#"1:35: data "amazon-parameterstore" "x": 'with_decryption' must be a boolean (true or false), not "maybe""#]),
    Row(
      type: "amazon-parameterstore", json: "{\"name\": [\"/a\"]}",
      errors: [#"1:10: data "amazon-parameterstore" "x": 'name' must be a string, not a list"#]),
    Row(
      type: "amazon-parameterstore", json: "{\"name\": \"/a\", \"region\": \"US East\"}",
      errors: [
        #"1:26: data "amazon-parameterstore" "x": 'region' region "US East" is not an AWS region name: it may hold only lowercase letters, digits and hyphens, like us-east-1"#
      ]),
    Row(
      type: "amazon-parameterstore", json: "{\"name\": \"/a\", \"assume_role\": {\"session_name\": \"s\"}}",
      errors: [#"1:31: data "amazon-parameterstore" "x" assume_role: 'role_arn' must be specified"#]),
    Row(type: "amazon-ami", json: #"{"owners": ["099720109477"], "filters": {"name": "ubuntu/*"}, "most_recent": true}"#, errors: []),
    Row(
      type: "amazon-ami", json: "{\n  \"filters\": {\"name\": \"ubuntu/*\"}\n}",
      errors: [
        #"1:1: data "amazon-ami" "x": 'owners' must be specified: for security reasons kiln, like Packer, does not pick an image from any account"#
      ]),
    Row(
      type: "amazon-ami", json: "{}",
      errors: [
        #"1:1: data "amazon-ami" "x": 'owners' must be specified: for security reasons kiln, like Packer, does not pick an image from any account"#,
        #"1:1: data "amazon-ami" "x": 'filters' must be specified"#,
      ]),
    Row(
      type: "amazon-ami", json: "{\"owners\": [\"self\"],\n  \"filters\": {\"name\": 3, \"tag:x\": {}}}",
      errors: [#"2:35: data "amazon-ami" "x": 'filters.tag:x' must be a string, not an object"#]),
    Row(
      type: "amazon-ami", json: "{\"owners\": \"self\", \"most_recnt\": true}",
      errors: [#"1:20: data "amazon-ami" "x": unknown configuration key 'most_recnt'; did you mean 'most_recent'?"#]),
  ]

  @Test(arguments: rows)
  func configurationProblemsHavePositions(row: Row) throws {
    let type = try #require(AmazonDataSources.types[row.type])
    let diagnostics = type.validate(configuration: try Self.body(row.json), name: "x", context: RenderContext(phase: .builder, clock: BuildClock()))
    let errors = diagnostics.errors.map { d in "\(d.location.map { "\($0.line):\($0.column)" } ?? "-"): \(d.message)" }
    #expect(errors == row.errors)
    #expect(diagnostics.errors.allSatisfy { $0.location?.path == "data.pkr.json" })
  }

  @Test func accessOptionsWithoutEffectWarn() throws {
    let diagnostics = AmazonParameterStoreDataSource.validate(
      configuration: try Self.body(
        #"{"name": "/a", "aws_polling": {"delay_seconds": 5}, "skip_region_validation": true, "custom_endpoint_ec2": "http://127.0.0.1:1"}"#),
      name: "p")
    #expect(!diagnostics.hasErrors)
    let warnings = diagnostics.warnings.map(\.message)
    #expect(
      warnings.contains(
        #"data "amazon-parameterstore" "p" aws_polling: 'delay_seconds' is accepted for compatibility and has no effect: a data source waits for nothing"#
      ),
      "\(warnings)")
    #expect(warnings.contains { $0.contains("'skip_region_validation' is accepted for compatibility and has no effect") })
    #expect(
      warnings.contains { $0.contains("'custom_endpoint_ec2' is accepted for compatibility and has no effect: amazon-parameterstore calls SSM") })
    let ami = AmazonAMIDataSource.validate(
      configuration: try Self.body(#"{"owners": ["self"], "custom_endpoint_ec2": "http://127.0.0.1:1"}"#), name: "a")
    #expect(ami.items.isEmpty, "\(ami.items)")
  }

  // MARK: - amazon-parameterstore against moto

  @Test func parameterStoreReadsAStringParameterAndAVersionOfIt() async throws {
    let moto = try await Self.moto.get()
    _ = try await moto.seed([
      [
        "op": "put_parameter", "name": "/kiln/eks/optimized-ami/1.31/amazon-linux-2023/x86_64/standard/recommended/image_id", "value": "ami-0aaa",
        "type": "String",
      ],
      [
        "op": "put_parameter", "name": "/kiln/eks/optimized-ami/1.31/amazon-linux-2023/x86_64/standard/recommended/image_id", "value": "ami-0bbb",
        "type": "String",
      ],
    ])
    let (access, context) = try await Self.access()
    let name = "/kiln/eks/optimized-ami/1.31/amazon-linux-2023/x86_64/standard/recommended/image_id"
    let latest = try await Self.decoded(AmazonParameterStoreDataSource.self, #"{"name": "\#(name)", \#(access)}"#).evaluate(context)
    #expect(
      latest.values == ["value": .string("ami-0bbb"), "version": .string("2"), "arn": .string("arn:aws:ssm:us-east-1:123456789012:parameter\(name)")])
    #expect(latest.sensitive.isEmpty)
    let first = try await Self.decoded(AmazonParameterStoreDataSource.self, #"{"name": "\#(name):1", \#(access)}"#).evaluate(context)
    #expect(first["value"] == .string("ami-0aaa"))
    #expect(first["version"] == .string("1"))
    #expect(Set(latest.values.keys) == Set(AmazonParameterStoreDataSource.outputNames))
  }

  /// AWS's public parameters (`/aws/service/…`, where the EKS- and Amazon Linux-optimized
  /// AMI ids live) are read like any other; moto ships the Amazon Linux ones.
  @Test func parameterStoreReadsAnAWSPublicParameter() async throws {
    let (access, context) = try await Self.access()
    let output = try await Self.decoded(
      AmazonParameterStoreDataSource.self, #"{"name": "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64", \#(access)}"#
    ).evaluate(context)
    guard case .string(let id)? = output["value"], case .string(let arn)? = output["arn"] else {
      Issue.record("no value or arn: \(output)")
      return
    }
    #expect(id.hasPrefix("ami-"))
    #expect(arn.hasPrefix("arn:aws:ssm:us-east-1:"))
    #expect(arn.hasSuffix(":parameter/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"))
  }

  @Test func parameterStoreMarksASecureStringSensitive() async throws {
    let moto = try await Self.moto.get()
    let secret = "pa55-\(UUID().uuidString)"
    _ = try await moto.seed([["op": "put_parameter", "name": "/kiln/data/password", "value": secret, "type": "SecureString"]])
    let (access, seen) = try await Self.access()
    var context = seen
    let lines = LinesSeen()
    context.debug = { lines.add($0) }
    context.console = { lines.add($0) }
    let output = try await Self.decoded(
      AmazonParameterStoreDataSource.self, #"{"name": "/kiln/data/password", "with_decryption": true, \#(access)}"#
    ).evaluate(context)
    #expect(output["value"] == .string(secret))
    #expect(output.sensitive == ["value"])
    var dumped = ""
    dump(output, to: &dumped)
    for shown in ["\(output)", String(reflecting: output), dumped] + lines.all {
      #expect(!shown.contains(secret), "the secret shows in: \(shown)")
    }
    #expect("\(output)".contains("value = string(\"<sensitive>\")"))
    // Not decrypted, the value is still the SecureString's: still sensitive.
    let encrypted = try await Self.decoded(AmazonParameterStoreDataSource.self, #"{"name": "/kiln/data/password", \#(access)}"#).evaluate(context)
    #expect(encrypted.sensitive == ["value"])
  }

  @Test func parameterStoreMissingParameterNamesItAndTheBlock() async throws {
    let (access, context) = try await Self.access()
    let json = "{\(access),\n  \"name\": \"/kiln/data/absent\"}"
    let error = await #expect(throws: DataSourceError.self) {
      _ = try await Self.decoded(AmazonParameterStoreDataSource.self, json, name: "eks_ami").evaluate(context)
    }
    #expect(
      error?.message.hasPrefix(#"data "amazon-parameterstore" "eks_ami": The parameter name "/kiln/data/absent" not found in us-east-1"#) == true,
      "\(String(describing: error))")
    #expect(error?.location == SourceLocation(path: "data.pkr.json", line: 2, column: 11))
    #expect(
      error?.diagnostic.description.hasPrefix("data.pkr.json:2:11: error: data \"amazon-parameterstore\" \"eks_ami\"") == true,
      "\(String(describing: error?.diagnostic))")
  }

  // MARK: - amazon-ami against moto

  @Test func amiFindsTheNewestOrRefusesManyOrNone() async throws {
    let moto = try await Self.moto.get()
    let prefix = "kiln-ds-\(UUID().uuidString.prefix(8))"
    let images = try await moto.seed([
      ["op": "register_image", "name": "\(prefix)-a", "tags": ["os": "al2023", "build": "1"]],
      ["op": "register_image", "name": "\(prefix)-b", "tags": ["os": "al2023", "build": "2"], "pause": 1.2],
      ["op": "register_image", "name": "\(prefix)-c", "tags": ["os": "ubuntu"], "pause": 1.2],
    ]).compactMap { $0 as? String }
    try #require(images.count == 3)
    let (access, context) = try await Self.access()

    let newest = try await Self.decoded(
      AmazonAMIDataSource.self, #"{"owners": ["self"], "filters": {"name": "\#(prefix)-*", "tag:os": "al2023"}, "most_recent": true, \#(access)}"#
    ).evaluate(context)
    #expect(newest["id"] == .string(images[1]))
    #expect(newest["name"] == .string("\(prefix)-b"))
    #expect(newest["owner"] == .string("123456789012"))
    #expect(newest["tags"] == .map(["os": .string("al2023"), "build": .string("2")]))
    #expect(newest["root_device_name"] == .string("/dev/xvda"))
    #expect(newest["root_device_type"] == .string("ebs"))
    #expect(newest["virtualization_type"] == .string("hvm"))
    #expect(newest.sensitive.isEmpty)
    #expect(Set(newest.values.keys) == Set(AmazonAMIDataSource.outputNames))
    if case .string(let created)? = newest["creation_date"] { #expect(!created.isEmpty) } else { Issue.record("no creation_date") }

    let all = try await Self.decoded(
      AmazonAMIDataSource.self, #"{"owners": ["self"], "filters": {"name": "\#(prefix)-*"}, "most_recent": true, \#(access)}"#
    ).evaluate(context)
    #expect(all["id"] == .string(images[2]))

    let many = await #expect(throws: DataSourceError.self) {
      _ = try await Self.decoded(AmazonAMIDataSource.self, #"{"owners": ["self"], "filters": {"name": "\#(prefix)-*"}, \#(access)}"#, name: "base")
        .evaluate(context)
    }
    #expect(
      many?.message.hasPrefix(
        #"data "amazon-ami" "base": Your query returned more than one result. Please try a more specific search, or set most_recent to true. (3 images: "#
      )
        == true, "\(String(describing: many))")
    #expect(many?.location == SourceLocation(path: "data.pkr.json", line: 1, column: 1))

    let none = await #expect(throws: DataSourceError.self) {
      _ = try await Self.decoded(AmazonAMIDataSource.self, #"{"owners": ["self"], "filters": {"name": "\#(prefix)-zzz"}, \#(access)}"#, name: "base")
        .evaluate(context)
    }
    #expect(none?.message == #"data "amazon-ami" "base": No AMI was found matching filters: filters name=\#(prefix)-zzz; owners self"#)

    let described = moto.requests("DescribeImages").last
    #expect(described?["Owner.1"] == "self")
  }
}

/// Lines a log callback heard, from any thread.
final class LinesSeen: Sendable {
  private let lines = Mutex<[String]>([])
  func add(_ line: String) { lines.withLock { $0.append(line) } }
  var all: [String] { lines.withLock { $0 } }
}
