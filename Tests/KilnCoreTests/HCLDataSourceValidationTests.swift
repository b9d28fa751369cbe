import Foundation
import KilnCore
import KilnFuzzing
import Synchronization
import Testing
import _KilnTestSupport

/// `kiln validate` on HCL `data` blocks: each block's body goes through its data source's
/// own typed decoding (no network), so every problem has its `.pkr.hcl` position, all at
/// once; a type kiln does not have is named with the ones it has.
@Suite struct HCLDataSourceValidationTests {
  struct Row: CustomTestStringConvertible, Sendable {
    var name: String
    var template: String
    /// Each expected error: its `FILE:LINE:COL: error:` prefix and a part of its message.
    var errors: [(position: String, message: String)]
    var testDescription: String { name }
  }

  static let ami = """
    data "amazon-ami" "ubuntu" {
      filters = {
        name = "ubuntu/images/*"
      }
      owners      = ["099720109477"]
      most_recent = true
    }

    """

  static let build = """

    source "null" "one" {
      communicator = "none"
    }
    build {
      sources = ["source.null.one"]
    }
    """

  static let rows: [Row] = [
    Row(name: "valid blocks", template: ami + "data \"amazon-parameterstore\" \"p\" {\n  name = \"/x\"\n}\n", errors: []),
    Row(
      name: "unknown key, with a suggestion",
      template: ami.replacingOccurrences(of: "most_recent = true", with: "most_recnt  = true"),
      errors: [("t.pkr.hcl:6:3: error:", "unknown configuration key 'most_recnt'; did you mean 'most_recent'?")]),
    Row(
      name: "wrong type",
      template: "data \"amazon-parameterstore\" \"p\" {\n  name            = \"/x\"\n  with_decryption = [1]\n}\n",
      errors: [("t.pkr.hcl:3:21: error:", "with_decryption")]),
    Row(
      name: "missing required option",
      template: "data \"amazon-parameterstore\" \"p\" {\n  with_decryption = true\n}\n",
      errors: [("t.pkr.hcl:1:", "'name'")]),
    Row(
      name: "owners required for amazon-ami",
      template: "data \"amazon-ami\" \"u\" {\n  filters = {\n    name = \"x\"\n  }\n}\n",
      errors: [("t.pkr.hcl:1:", "'owners' must be specified")]),
    Row(
      name: "every problem of every block at once",
      template: ami.replacingOccurrences(of: "most_recent = true", with: "most_recnt  = true")
        + "data \"amazon-parameterstore\" \"p\" {\n  nme = \"/x\"\n}\n",
      errors: [
        ("t.pkr.hcl:6:3: error:", "most_recnt"), ("t.pkr.hcl:9:3: error:", "unknown configuration key 'nme'"),
        ("t.pkr.hcl:8:", "'name'"),
      ]),
    Row(
      name: "unknown data source type names the known ones",
      template: "data \"http\" \"x\" {\n  url = \"https://example.com\"\n}\n",
      errors: [("t.pkr.hcl:1:6: error:", "kiln supports: amazon-ami, amazon-parameterstore")]),
  ]

  @Test(arguments: rows)
  func dataBlockProblemsHavePositions(row: Row) throws {
    let (validation, _) = try HCLTemplateTests.validate(["t.pkr.hcl": row.template + Self.build])
    let errors = HCLTemplateTests.errors(validation)
    for (position, message) in row.errors {
      // Each error starts with the template's absolute path: `/…/t.pkr.hcl:LINE:COL: error:`.
      #expect(errors.contains { $0.contains("/" + position) && $0.contains(message) }, "\(position) \(message) not in \(errors)")
    }
    #expect(errors.count == row.errors.count, "\(errors)")
    // The block's label leads each message of the plugin's decoding.
    for error in errors where !error.contains("kiln supports") {
      #expect(error.contains("data \"amazon-"), "\(error)")
    }
  }

  /// A reference to a data source output that does not exist is an error, and a known one
  /// validates (its value unknown), also in the configuration of another data block.
  @Test func outputsAreCheckedByName() throws {
    let uses = """
      data "amazon-parameterstore" "p" {
        name = "/ami/${data.amazon-ami.ubuntu.name}"
      }
      locals {
        tags = data.amazon-ami.ubuntu.tags
        bad  = data.amazon-ami.ubuntu.nme
      }

      """
    let (validation, _) = try HCLTemplateTests.validate(["t.pkr.hcl": Self.ami + uses + Self.build])
    let errors = HCLTemplateTests.errors(validation)
    #expect(errors.count == 1, "\(errors)")
    #expect(errors.first?.contains("/t.pkr.hcl:13:32: error: Unsupported attribute") == true, "\(errors)")
  }

  /// Stands in for the plugins: records each call and answers with fixed outputs.
  final class Recorder: DataSourceEvaluator {
    let calls = Mutex<[String]>([])
    func evaluate(type: String, name: String, configuration: JSONNode) async throws -> DataSourceOutput {
      calls.withLock { $0.append("\(type).\(name) \(configuration["name"]?.stringValue ?? "")") }
      if type == "amazon-ami" {
        return DataSourceOutput(values: ["id": .string("ami-0123"), "name": .string("ubuntu-20240101")])
      }
      return DataSourceOutput(values: ["value": .string("t0ps3cret-value"), "version": .string("3")], sensitive: ["value"])
    }
  }

  static func run(_ template: String, _ recorder: Recorder) async throws -> Validation {
    let directory = try Scratch.directory("kiln-hcl-data")
    let path = directory.appendingPathComponent("t.pkr.hcl").path
    try template.write(toFile: path, atomically: true, encoding: .utf8)
    var options = ValidationOptions()
    options.environment = [:]
    options.workingDirectory = directory.path
    return await TemplateValidator.validate(path: path, options: options, registry: Fuzzing.registry, dataSources: recorder)
  }

  /// `kiln build`'s path: each data source runs after those it uses, its outputs reach the
  /// builds, and a sensitive output is among the values to mask.
  @Test func outputsReachTheBuildsAndSecretsAreMasked() async throws {
    let template =
      Self.ami + """
        data "amazon-parameterstore" "p" {
          name = "/ami/${data.amazon-ami.ubuntu.name}"
        }
        source "null" "one" {
          communicator = "none"
        }
        build {
          sources = ["source.null.one"]
          provisioner "shell-local" {
            environment_vars = ["TOKEN=${data.amazon-parameterstore.p.value}", "AMI=${data.amazon-ami.ubuntu.id}"]
            inline           = ["true"]
          }
        }
        """
    let recorder = Recorder()
    let validation = try await Self.run(template, recorder)
    #expect(HCLTemplateTests.errors(validation).isEmpty, "\(HCLTemplateTests.errors(validation))")
    #expect(recorder.calls.withLock { $0 } == ["amazon-ami.ubuntu ", "amazon-parameterstore.p /ami/ubuntu-20240101"])
    #expect(validation.variables?.sensitiveValues.contains("t0ps3cret-value") == true)
    let environment = validation.template?.provisioners.first?.configuration["environment_vars"]?.elements?.compactMap(\.stringValue)
    #expect(environment == ["TOKEN=t0ps3cret-value", "AMI=ami-0123"])
  }

  /// A problem in any data block is reported with every other, and no data source runs.
  @Test func noDataSourceRunsWhenAnyBlockIsWrong() async throws {
    let template = Self.ami + "data \"amazon-parameterstore\" \"p\" {\n  nme = \"/x\"\n}\n" + Self.build
    let recorder = Recorder()
    let validation = try await Self.run(template, recorder)
    let errors = HCLTemplateTests.errors(validation)
    #expect(errors.contains { $0.contains("/t.pkr.hcl:9:3: error:") && $0.contains("'nme'") }, "\(errors)")
    #expect(recorder.calls.withLock { $0 }.isEmpty)
  }
}
