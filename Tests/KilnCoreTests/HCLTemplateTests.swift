import Foundation
import KilnCore
import KilnFuzzing
import Testing
import _KilnTestSupport

/// HCL2 templates (`.pkr.hcl`, `.pkr.json`, directories) through the loader and validator:
/// variables and their precedence, locals, `packer` blocks, sources, builds, provisioners and
/// post-processors, and what the plugins decode, with `.pkr.hcl` positions.
@Suite struct HCLTemplateTests {
  /// A directory holding `files`, validated with `arguments` (`-var`, `-var-file` paths
  /// relative to it) and `environment`.
  static func validate(
    _ files: [String: String], path: String = ".", variableFiles: [String] = [], assignments: [String] = [],
    environment: [String: String] = [:], only: [String] = [], except: [String] = [], syntaxOnly: Bool = false
  ) throws -> (Validation, URL) {
    let directory = try Scratch.directory("kiln-hcl")
    for (name, text) in files {
      let url = directory.appendingPathComponent(name)
      try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
      try text.write(to: url, atomically: true, encoding: .utf8)
    }
    var options = ValidationOptions()
    options.environment = environment
    options.workingDirectory = directory.path
    options.variableFiles = variableFiles.map { directory.appendingPathComponent($0).path }
    options.assignments = assignments.compactMap(VariableResolver.Assignment.parse)
    options.only = only
    options.except = except
    options.syntaxOnly = syntaxOnly
    let target = path == "." ? directory.path : directory.appendingPathComponent(path).path
    return (TemplateValidator.validate(path: target, options: options, registry: Fuzzing.registry), directory)
  }

  static func errors(_ validation: Validation) -> [String] {
    validation.diagnostics.sorted.filter { $0.severity == .error }.map(\.description)
  }

  static let nullSource = """
    source "null" "a" {
      communicator = "none"
    }
    source "null" "b" {
      communicator = "none"
    }

    """

  // MARK: - Variables

  static let precedenceTemplate = """
    variable "v" {
      type    = string
      default = "default"
    }
    \(nullSource)
    build {
      sources = ["source.null.a"]
    }
    """

  /// defaults < PKR_VAR_ < auto var files < -var-file (in order) < -var.
  @Test(arguments: [
    ([String: String](), [String](), [String](), "default"),
    (["PKR_VAR_v": "env"], [], [], "env"),
    (["PKR_VAR_v": "env"], ["auto"], [], "auto"),
    (["PKR_VAR_v": "env"], ["auto", "one.pkrvars.hcl", "two.pkrvars.hcl"], [], "two"),
    (["PKR_VAR_v": "env"], ["auto", "two.pkrvars.hcl", "one.pkrvars.hcl"], [], "one"),
    (["PKR_VAR_v": "env"], ["auto", "one.pkrvars.hcl"], ["v=cmd"], "cmd"),
    // Packer reads every native-syntax var file before the JSON ones (parser.go).
    ([:], ["three.json", "one.pkrvars.hcl"], [], "three"),
  ])
  func variablePrecedence(environment: [String: String], files: [String], assignments: [String], expected: String) throws {
    var contents = ["t.pkr.hcl": Self.precedenceTemplate]
    if files.contains("auto") { contents["x.auto.pkrvars.hcl"] = "v = \"auto\"\n" }
    contents["one.pkrvars.hcl"] = "v = \"one\"\n"
    contents["two.pkrvars.hcl"] = "v = \"two\"\n"
    contents["three.json"] = "{\"v\": \"three\"}\n"
    let (validation, _) = try Self.validate(
      contents, variableFiles: files.filter { $0 != "auto" }, assignments: assignments, environment: environment)
    #expect(Self.errors(validation).isEmpty, "\(Self.errors(validation))")
    #expect(validation.variables?.values["v"] == expected)
  }

  /// A value from the command line or PKR_VAR_ is a string for string, number and untyped
  /// variables, and an HCL expression for any other type.
  @Test func commandLineValuesAreParsedByType() throws {
    let template = """
      variable "regions" {
        type = list(string)
      }
      variable "size" {
        type = number
      }
      variable "tags" {
        type    = map(string)
        default = {}
      }
      source "null" "a" {
        communicator = "none"
      }
      build {
        sources = ["source.null.a"]
        provisioner "shell-local" {
          inline = concat(var.regions, ["v${var.size + 1}"], keys(var.tags))
        }
      }
      """
    let (validation, _) = try Self.validate(
      ["t.pkr.hcl": template], assignments: ["regions=[\"us-east-1\", \"eu-west-1\"]", "size=41"],
      environment: ["PKR_VAR_tags": "{team = \"x\"}", "PKR_VAR_undeclared": "ignored"])
    #expect(Self.errors(validation).isEmpty, "\(Self.errors(validation))")
    let inline = validation.builds.first?.provisioners.first?.definition.configuration["inline"]?.elements?.compactMap(\.stringValue)
    #expect(inline == ["us-east-1", "eu-west-1", "v42", "team"])

    let (bad, _) = try Self.validate(["t.pkr.hcl": template], assignments: ["regions=[", "size=big", "nope=1"])
    let errors = Self.errors(bad)
    #expect(errors.contains { $0.contains("<value for var.regions from arguments>") })
    #expect(errors.contains { $0.contains("Invalid argument value for -var variable") && $0.contains("size") })
    #expect(errors.contains { $0.contains("Undefined -var variable") && $0.contains("\"nope\"") })
  }

  @Test func undeclaredVariableInAVarFileIsAWarning() throws {
    let (validation, _) = try Self.validate(
      ["t.pkr.hcl": Self.precedenceTemplate, "x.pkrvars.hcl": "v = \"x\"\nstray = 1\n"], variableFiles: ["x.pkrvars.hcl"])
    #expect(Self.errors(validation).isEmpty)
    let warning = validation.diagnostics.warnings.first { $0.message.contains("Undefined variable") }
    #expect(warning?.location?.path.hasSuffix("x.pkrvars.hcl") == true)
    #expect(warning?.location?.line == 2)
  }

  @Test func unsetVariableIsAnError() throws {
    let (validation, _) = try Self.validate([
      "t.pkr.hcl": "variable \"k8s\" {\n  type = string\n}\n" + Self.nullSource + "build {\n  sources = [\"source.null.a\"]\n}\n"
    ])
    #expect(Self.errors(validation).contains { $0.contains("t.pkr.hcl:1:1: error: Unset variable \"k8s\"") })
    // -syntax-only does not check values, as Packer's.
    let (syntax, _) = try Self.validate(
      ["t.pkr.hcl": "variable \"k8s\" {\n  type = string\n}\n" + Self.nullSource], syntaxOnly: true)
    #expect(Self.errors(syntax).isEmpty)
  }

  static let validatedTemplate = """
    variable "size" {
      type    = number
      default = 20
      validation {
        condition     = var.size >= 8
        error_message = "The size must be at least 8 GiB."
      }
    }
    \(nullSource)
    build {
      sources = ["source.null.a"]
    }
    """

  @Test(arguments: [("20", true), ("8", true), ("4", false)])
  func validationBlocks(size: String, valid: Bool) throws {
    let (validation, _) = try Self.validate(["t.pkr.hcl": Self.validatedTemplate], assignments: ["size=\(size)"])
    let errors = Self.errors(validation)
    #expect(errors.isEmpty == valid, "\(errors)")
    if !valid {
      #expect(errors.contains { $0.contains("Invalid value for cmd variable; The size must be at least 8 GiB.") && $0.contains("t.pkr.hcl:4,") })
    }
  }

  @Test func validationRulesAreCheckedThemselves() throws {
    let template = """
      variable "a" {
        default = "x"
        validation {
          condition     = var.b == "x"
          error_message = "lower case and no period"
        }
      }
      """
    let (validation, _) = try Self.validate(["t.pkr.hcl": template], syntaxOnly: true)
    let errors = Self.errors(validation)
    #expect(errors.contains { $0.contains("t.pkr.hcl:4:21: error: Invalid reference in variable validation") })
    #expect(errors.contains { $0.contains("Invalid validation error message") })
  }

  @Test func sensitiveValuesAreMasked() throws {
    let template = """
      variable "token" {
        type      = string
        default   = "s3cr3t-value"
        sensitive = true
      }
      local "derived" {
        expression = "bearer ${var.token}"
        sensitive  = true
      }
      \(Self.nullSource)
      build {
        sources = ["source.null.a"]
      }
      """
    let (validation, _) = try Self.validate(["t.pkr.hcl": template])
    let secrets = validation.variables?.sensitiveValues ?? []
    #expect(secrets.contains("s3cr3t-value"))
    #expect(secrets.contains("bearer s3cr3t-value"))
  }

  // MARK: - Locals

  @Test func localsAreEvaluatedInDependencyOrder() throws {
    let template = """
      locals {
        c = "${local.b}-c"
        b = "${local.a}-b"
        a = upper("a")
      }
      source "null" "a" {
        communicator = "none"
      }
      build {
        sources = ["source.null.a"]
        provisioner "shell-local" {
          inline = [local.c]
        }
      }
      """
    let (validation, _) = try Self.validate(["t.pkr.hcl": template])
    #expect(Self.errors(validation).isEmpty, "\(Self.errors(validation))")
    #expect(validation.builds.first?.provisioners.first?.definition.configuration["inline"]?.elements?.first?.stringValue == "A-b-c")
  }

  @Test func localsCycleIsReportedWithItsChain() throws {
    let template = """
      locals {
        a = local.b
        b = "${local.c}"
        c = local.a
        d = local.a
      }

      """
    let (validation, _) = try Self.validate(["t.pkr.hcl": template + Self.nullSource + "build {\n  sources = [\"source.null.a\"]\n}\n"])
    let cycles = Self.errors(validation).filter { $0.contains("Cycle in local variables") }
    #expect(cycles.count == 1, "\(Self.errors(validation))")
    #expect(
      cycles.first?.contains("t.pkr.hcl:4:7: error: Cycle in local variables; local.a refers to itself: local.a -> local.b -> local.c -> local.a.")
        == true)
    // The caret line is carried to the output.
    let cycle = validation.diagnostics.sorted.first { $0.message.contains("Cycle") }
    #expect(cycle?.excerpt?.line == "  c = local.a")
    #expect(cycle?.excerpt?.caret == "      ^^^^^^^")
  }

  // MARK: - Builds

  @Test func buildsAreNamedAsPackerNamesThem() throws {
    let template =
      Self.nullSource + """
        build {
          sources = ["source.null.a"]
        }
        build {
          name = "second"
          source "source.null.b" {
            name = "renamed"
          }
        }
        """
    let (validation, _) = try Self.validate(["t.pkr.hcl": template])
    #expect(Self.errors(validation).isEmpty, "\(Self.errors(validation))")
    #expect(validation.builds.map(\.name) == ["null.a", "second.null.renamed"])
  }

  /// `-only`/`-except` take globs in HCL mode (Packer ≥ 1.7).
  @Test(arguments: [
    (["null.a"], [String](), ["null.a"]),
    (["*.b"], [], ["x.null.b"]),
    (["null.?"], [], ["null.a"]),
    ([], ["x.*"], ["null.a"]),
  ])
  func onlyAndExceptTakeGlobs(only: [String], except: [String], expected: [String]) throws {
    let template =
      Self.nullSource + """
        build {
          sources = ["source.null.a"]
        }
        build {
          name    = "x"
          sources = ["source.null.b"]
        }
        """
    let (validation, _) = try Self.validate(["t.pkr.hcl": template], only: only, except: except)
    #expect(validation.builds.map(\.name) == expected)
  }

  @Test func provisionerOnlyExceptAndOverride() throws {
    let template =
      Self.nullSource + """
        build {
          sources = ["source.null.a", "source.null.b"]
          provisioner "shell-local" {
            only   = ["null.a"]
            inline = ["only a"]
          }
          provisioner "shell-local" {
            except = ["null.a"]
            inline = ["not a"]
          }
          provisioner "shell-local" {
            inline      = ["${source.name} ${source.type} ${build.ID}"]
            max_retries = 2
            pause_before = "5s"
            timeout      = "1m"
            override = {
              b = {
                inline = ["overridden for b"]
              }
            }
          }
        }
        """
    let (validation, _) = try Self.validate(["t.pkr.hcl": template])
    #expect(Self.errors(validation).isEmpty, "\(Self.errors(validation))")
    func inline(_ build: PreparedBuild) -> [[String]] {
      build.provisioners.map { provisioner in
        provisioner.definition.configuration(for: build.name)["inline"]?.elements?.compactMap(\.stringValue) ?? []
      }
    }
    let a = try #require(validation.builds.first { $0.name == "null.a" })
    let b = try #require(validation.builds.first { $0.name == "null.b" })
    #expect(inline(a) == [["only a"], ["a null {{ build `ID` }}"]])
    #expect(inline(b) == [["not a"], ["overridden for b"]])
    #expect(a.provisioners.last?.maxRetries == 2)
    #expect(a.provisioners.last?.pauseBefore == 5)
    #expect(a.provisioners.last?.timeout == 60)
  }

  @Test func postProcessorChains() throws {
    let template =
      Self.nullSource + """
        build {
          sources = ["source.null.a", "source.null.b"]
          post-processor "checksum" {
            checksum_types = ["sha256"]
          }
          post-processors {
            post-processor "manifest" {
              output = "m.json"
            }
            post-processor "checksum" {
              name   = "sums"
              except = ["null.b"]
            }
          }
        }
        """
    let (validation, _) = try Self.validate(["t.pkr.hcl": template])
    #expect(Self.errors(validation).isEmpty, "\(Self.errors(validation))")
    let a = try #require(validation.builds.first { $0.name == "null.a" })
    let b = try #require(validation.builds.first { $0.name == "null.b" })
    #expect(a.postProcessors.map { $0.map(\.definition.type.value) } == [["checksum"], ["manifest", "checksum"]])
    #expect(b.postProcessors.map { $0.map(\.definition.type.value) } == [["checksum"], ["manifest"]])
    // -except naming a post-processor drops it and the rest of its chain.
    let (dropped, _) = try Self.validate(["t.pkr.hcl": template], except: ["manifest"])
    #expect(dropped.builds.first?.postProcessors.map { $0.map(\.definition.type.value) } == [["checksum"]])
  }

  static let amazon = """
    source "amazon-ebs" "ubuntu" {
      region        = "us-east-1"
      instance_type = "t3.micro"
      source_ami    = "ami-12345678"
      ssh_username  = "ubuntu"
      ami_name      = "kiln-{{timestamp}}"
    %@
    }
    build {
      sources = ["source.amazon-ebs.ubuntu"]
    }
    """

  static func amazon(_ extra: String) -> String { amazon.replacingOccurrences(of: "%@", with: extra) }

  /// Nested blocks decode as JSON's list of objects (repeatable) or object (single).
  @Test func pluginBlocksDecodeAsJSONShapes() throws {
    let extra = """
        launch_block_device_mappings {
          device_name = "/dev/sda1"
          volume_size = 40
        }
        launch_block_device_mappings {
          device_name = "/dev/sdb"
          volume_size = 10
        }
        aws_polling {
          delay_seconds = 5
          max_attempts  = 10
        }
        tags = {
          Name = "x"
        }
      """
    let (validation, _) = try Self.validate(["t.pkr.hcl": Self.amazon(extra)])
    #expect(Self.errors(validation).isEmpty, "\(Self.errors(validation))")
    let configuration = try #require(validation.template?.builders.first?.configuration)
    #expect(configuration["launch_block_device_mappings"]?.elements?.count == 2)
    #expect(configuration["launch_block_device_mappings"]?.elements?.first?["volume_size"]?.location.line == 9)
    #expect(configuration["tags"]?["Name"]?.location.line == 20)
  }

  /// The plugins' own messages, at the `.pkr.hcl` position, with the source line.
  @Test(arguments: [
    (
      "  instance_typo = \"x\"",
      "t.pkr.hcl:7:3: error: amazon-ebs builder \"amazon-ebs.ubuntu\": unknown configuration key 'instance_typo'; did you mean 'instance_type'?"
    ),
    (
      "  aws_polling = {\n    delay_seconds = 5\n  }",
      "t.pkr.hcl:7:3: error: amazon-ebs builder \"amazon-ebs.ubuntu\": 'aws_polling' is a block, not an argument"
    ),
    ("  tags {\n    Name = \"x\"\n  }", "t.pkr.hcl:7:3: error: amazon-ebs builder \"amazon-ebs.ubuntu\": 'tags' is an argument, not a block"),
    (
      "  aws_polling {\n    delay_seconds = 5\n  }\n  aws_polling {\n  }",
      "t.pkr.hcl:10:3: error: amazon-ebs builder \"amazon-ebs.ubuntu\": only one 'aws_polling' block is allowed"
    ),
    ("  ebs_optimized = \"maybe\"", "t.pkr.hcl:7:19: error: amazon-ebs builder \"amazon-ebs.ubuntu\": 'ebs_optimized' must be a boolean"),
  ])
  func pluginProblemsHaveHCLPositions(extra: String, expected: String) throws {
    let (validation, _) = try Self.validate(["t.pkr.hcl": Self.amazon(extra)])
    let errors = validation.diagnostics.sorted.filter { $0.severity == .error }
    #expect(errors.contains { $0.description.contains("/" + expected) }, "\(errors.map(\.description))")
    #expect(errors.allSatisfy { $0.excerpt != nil })
  }

  @Test func missingRequiredOptionIsReported() throws {
    let template = """
      source "amazon-ebs" "ubuntu" {
        instance_type = "t3.micro"
        source_ami    = "ami-12345678"
        ssh_username  = "ubuntu"
      }
      build {
        sources = ["source.amazon-ebs.ubuntu"]
      }
      """
    let (validation, _) = try Self.validate(["t.pkr.hcl": template])
    #expect(Self.errors(validation).contains { $0.contains("'ami_name' must be specified") }, "\(Self.errors(validation))")
  }

  @Test func sourceOverridesInABuild() throws {
    let template = """
      source "amazon-ebs" "ubuntu" {
        region        = "us-east-1"
        source_ami    = "ami-12345678"
        ssh_username  = "ubuntu"
        ami_name      = "kiln"
      }
      build {
        source "amazon-ebs.ubuntu" {
          name          = "big"
          instance_type = "m5.large"
        }
        source "amazon-ebs.ubuntu" {
          name          = "twice"
          instance_type = "t3.micro"
          region        = "eu-west-1"
        }
      }
      """
    let (validation, _) = try Self.validate(["t.pkr.hcl": template])
    let builders = validation.template?.builders ?? []
    #expect(builders.map(\.name) == ["amazon-ebs.big", "amazon-ebs.twice"])
    #expect(builders.first?.configuration["instance_type"]?.stringValue == "m5.large")
    #expect(Self.errors(validation).contains { $0.contains("t.pkr.hcl:15:5: error: Duplicate argument") }, "\(Self.errors(validation))")
  }

  // MARK: - packer, data, files

  @Test(arguments: [(">= 1.7.0, < 2", true), ("~> 1.9", true), ("< 1.7", false), (">= 1.10.0", false)])
  func requiredVersion(constraint: String, accepted: Bool) throws {
    let template = "packer {\n  required_version = \"\(constraint)\"\n}\n" + Self.nullSource + "build {\n  sources = [\"source.null.a\"]\n}\n"
    let (validation, _) = try Self.validate(["t.pkr.hcl": template], syntaxOnly: true)
    #expect(Self.errors(validation).isEmpty == accepted, "\(Self.errors(validation))")
    if !accepted { #expect(Self.errors(validation).first?.contains("t.pkr.hcl:2:22: error: Unsupported Packer Core version") == true) }
  }

  @Test func requiredPluginsAreNoted() throws {
    let template = """
      packer {
        required_plugins {
          amazon = {
            source  = "github.com/hashicorp/amazon"
            version = ">= 1.2"
          }
          docker = {
            source  = "github.com/hashicorp/docker"
            version = ">= 1"
          }
        }
      }
      """
    let (validation, _) = try Self.validate(["t.pkr.hcl": template], syntaxOnly: true)
    #expect(Self.errors(validation).isEmpty)
    let warnings = validation.diagnostics.warnings.map(\.description)
    #expect(warnings.contains { $0.contains("t.pkr.hcl:3:5: warning: Plugin built in") && $0.contains("no `packer init` is needed") })
    #expect(warnings.contains { $0.contains("t.pkr.hcl:7:5: warning: Plugin not available") && $0.contains("github.com/hashicorp/docker") })
  }

  /// Without a data source runner (validation), outputs are unknown and what uses them
  /// validates as far as it can.
  @Test func dataSourcesAreUnknownWhenValidating() throws {
    let template = """
      data "amazon-ami" "ubuntu" {
        filters = {
          name = "ubuntu/images/*"
        }
        owners      = ["099720109477"]
        most_recent = true
      }
      data "amazon-parameterstore" "eks" {
        name = "/aws/service/eks/optimized-ami/1.31/amazon-linux-2023/x86_64/standard/recommended/image_id"
      }
      locals {
        ami = data.amazon-ami.ubuntu.id
      }
      source "amazon-ebs" "ubuntu" {
        region        = "us-east-1"
        instance_type = "t3.micro"
        source_ami    = local.ami
        ssh_username  = "ubuntu"
        ami_name      = "kiln"
        tags = {
          Version = data.amazon-parameterstore.eks.version
        }
      }
      build {
        sources = ["source.amazon-ebs.ubuntu"]
      }
      """
    let (validation, _) = try Self.validate(["t.pkr.hcl": template])
    #expect(Self.errors(validation).isEmpty, "\(Self.errors(validation))")
    #expect(validation.template?.dataSources.map(\.value) == ["amazon-ami.ubuntu", "amazon-parameterstore.eks"])
    #expect(validation.template?.builders.first?.configuration["source_ami"]?.stringValue == "<unknown>")

    let (typo, _) = try Self.validate(["t.pkr.hcl": template.replacingOccurrences(of: "ubuntu.id", with: "ubuntu.idd")])
    #expect(Self.errors(typo).contains { $0.contains("t.pkr.hcl:12:") && $0.contains("idd") }, "\(Self.errors(typo))")
    let (unsupported, _) = try Self.validate(["t.pkr.hcl": "data \"http\" \"x\" {\n}\n"], syntaxOnly: true)
    #expect(
      Self.errors(unsupported).contains {
        $0.contains("data source type \\\"http\\\" is not supported by kiln") || $0.contains("data source type \"http\" is not supported by kiln")
      })
  }

  /// A directory: every `.pkr.hcl` and `.pkr.json` in it, and its auto var files.
  @Test func directoryWithJSONSyntax() throws {
    let files = [
      "variables.pkr.hcl": "variable \"cmd\" {\n  type = string\n}\n",
      "build.pkr.json": """
      {
        "source": {"null": {"a": {"communicator": "none"}}},
        "build": {
          "sources": ["source.null.a"],
          "provisioner": [{"shell-local": {"inline": ["${var.cmd}"]}}]
        }
      }
      """,
      "values.auto.pkrvars.json": "{\"cmd\": \"echo json\"}",
      "ignored.json": "{",
    ]
    let (validation, _) = try Self.validate(files)
    #expect(Self.errors(validation).isEmpty, "\(Self.errors(validation))")
    #expect(validation.builds.first?.provisioners.first?.definition.configuration["inline"]?.elements?.first?.stringValue == "echo json")
  }

  @Test func parseErrorsHaveCarets() throws {
    let (validation, _) = try Self.validate(["t.pkr.hcl": "source \"null\" \"a\" {\n  communicator = \n}\n"], syntaxOnly: true)
    let error = try #require(validation.diagnostics.sorted.first { $0.severity == .error })
    #expect(error.location?.line == 2)
    #expect(error.excerpt != nil)
  }

  @Test func aDirectoryWithoutTemplatesIsAnError() throws {
    let (validation, _) = try Self.validate(["notes.txt": "x"])
    #expect(Self.errors(validation).contains { $0.contains("Could not find any config file in") })
  }
}
