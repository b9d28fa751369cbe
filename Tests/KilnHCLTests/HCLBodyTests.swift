import Testing

@testable import KilnHCL

/// Bodies under a schema, in both syntaxes, and how their problems read.
@Suite struct HCLBodyTests {
  static let schema = BodySchema(
    attributes: [.init("region", required: true), .init("ami_name")],
    blocks: [.init("source", labels: ["type", "name"]), .init("provisioner", labels: ["type"])])

  static let native = """
    region   = "us-east-1"
    ami_name = "web-${1 + 1}"
    source "amazon-ebs" "web" {
      instance_type = "t3.micro"
    }
    provisioner "shell" {
      inline = ["echo hi"]
    }
    provisioner "file" {}

    """

  static let json = """
    {
      "//": "a comment the JSON syntax ignores",
      "region": "us-east-1",
      "ami_name": "web-${1 + 1}",
      "source": {"amazon-ebs": {"web": {"instance_type": "t3.micro"}}},
      "provisioner": [{"shell": {"inline": ["echo hi"]}}, {"file": {}}]
    }
    """

  @Test(arguments: [false, true])
  func bothSyntaxesGiveTheSameContent(json: Bool) throws {
    let file =
      json ? HCL.parseJSONConfig(Array(Self.json.utf8), filename: "t.pkr.json") : HCL.parseConfig(Array(Self.native.utf8), filename: "t.pkr.hcl")
    #expect(file.diagnostics.isEmpty)
    let (content, problems) = file.body.content(Self.schema)
    #expect(problems.isEmpty, "\(problems)")
    #expect(content.attributes.map(\.name) == ["region", "ami_name"])
    let amiName = try #require(content[attribute: "ami_name"]).expression.value(in: EvalContext())
    #expect(amiName.rawEquals(.string("web-2")))
    #expect(content.blocks.map(\.type) == ["source", "provisioner", "provisioner"])
    #expect(content.blocks.map(\.labels) == [["amazon-ebs", "web"], ["shell"], ["file"]])
    let (inner, innerProblems) = content.blocks[0].body.content(BodySchema(attributes: [.init("instance_type")]))
    #expect(innerProblems.isEmpty)
    #expect(try inner[attribute: "instance_type"]?.expression.value(in: EvalContext()).rawEquals(.string("t3.micro")) == true)
  }

  @Test func nativeProblemsAreAllReportedWithPositions() {
    let source = """
      regoin = "us-east-1"
      source "amazon-ebs" {
      }
      provisioner "shell" "extra" {
      }
      bogus {
      }

      """
    let file = HCL.parseConfig(Array(source.utf8), filename: "t.pkr.hcl")
    let (_, problems) = file.body.content(Self.schema)
    let lines = problems.map(\.description).sorted()
    #expect(
      lines == [
        "t.pkr.hcl:1:1: error: Missing required argument; The argument \"region\" is required, but no definition was found.",
        "t.pkr.hcl:1:1: error: Unsupported argument; An argument named \"regoin\" is not expected here. Did you mean \"region\"?",
        "t.pkr.hcl:2:21: error: Missing name for source; All source blocks must have 2 labels (type, name).",
        "t.pkr.hcl:4:21: error: Extraneous label for provisioner; Only 1 labels (type) are expected for provisioner blocks.",
        "t.pkr.hcl:6:1: error: Unsupported block type; Blocks of type \"bogus\" are not expected here.",
      ])
  }

  @Test func jsonProblemsAreAllReportedWithPositions() throws {
    let source = #"{"regoin": "x", "source": "not an object", "provisioner": {"shell": [1]}}"#
    let file = HCL.parseJSONConfig(Array(source.utf8), filename: "t.pkr.json")
    let (_, problems) = file.body.content(Self.schema)
    #expect(
      problems.map(\.description).sorted()
        == [
          "t.pkr.json:1:2: error: Extraneous JSON object property; No argument or block type is named \"regoin\". Did you mean \"region\"?",
          "t.pkr.json:1:27: error: Incorrect JSON value type; Either a JSON object or JSON array of objects is required here, to specify type labels for this block.",
          "t.pkr.json:1:27: error: Missing block label; At least one object property is required, whose name represents the source block's type.",
          "t.pkr.json:1:73: error: Missing required argument; The argument \"region\" is required, but no definition was found.",
        ].sorted())
    // A block's body of the wrong JSON type shows when its content is read, as in HCL.
    let (content, _) = file.body.content(Self.schema)
    let (_, inner) = try #require(content.blocks.first).body.content(BodySchema())
    #expect(inner.map(\.summary) == ["Incorrect JSON value type"])
  }

  /// `FILE:LINE:COL: error: message`, then the line with carets under the whole range.
  @Test func diagnosticsRenderWithTheSourceLineAndCarets() throws {
    let source = "source \"amazon-ebs\" \"web\" {\n  colour = \"blue\"\n  size = ,\n}\n"
    let file = HCL.parseConfig(Array(source.utf8), filename: "web.pkr.hcl")
    let parseProblem = try #require(file.diagnostics.first)
    #expect(
      parseProblem.rendered(source: file.bytes) == """
        web.pkr.hcl:3:10: error: Invalid expression; Expected the start of an expression, but found an invalid expression token.
            size = ,
                   ^
        """)
    let fixed = HCL.parseConfig(Array(source.replacingAll("size = ,", with: "size = 1").utf8), filename: "web.pkr.hcl")
    guard case .native(let body) = fixed.body, let block = body.blocks.first else {
      Issue.record("no block")
      return
    }
    let (_, problems) = block.body.content(BodySchema(attributes: [.init("size")]))
    #expect(
      fixed.rendered(problems) == """
        web.pkr.hcl:2:3: error: Unsupported argument; An argument named "colour" is not expected here.
            colour = "blue"
            ^^^^^^
        """)
    #expect(HCLError(problems).description == problems[0].description)
  }

  @Test func longLinesAreCutAroundTheRange() throws {
    let source = "a = [" + String(repeating: "1, ", count: 100) + "nope" + String(repeating: ", 1", count: 100) + "]\n"
    let file = HCL.parseConfig(Array(source.utf8), filename: "long.hcl")
    let (attributes, _) = file.body.justAttributes()
    let problem = try #require(attributes.first?.expression.evaluate(in: EvalContext()).diagnostics.first)
    let lines = problem.rendered(source: file.bytes).split(separator: "\n")
    #expect(lines.count == 3)
    #expect(lines[1].hasPrefix("  …") && lines[1].hasSuffix("…"))
    #expect(lines[2].hasSuffix("^^^^"))
    #expect(lines[1].count < 140)
  }

  @Test func bareAndRepeatedAttributes() {
    let file = HCL.parseConfig(Array("a = 1\na = 2\nb { }\n".utf8), filename: "t.hcl")
    #expect(file.diagnostics.map(\.summary) == ["Attribute redefined"])
    let (attributes, problems) = file.body.justAttributes()
    #expect(attributes.map(\.name) == ["a"])
    #expect(problems.map(\.summary) == ["Unexpected \"b\" block"])
  }
}
