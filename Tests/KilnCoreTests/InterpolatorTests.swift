import Foundation
import KilnCore
import Testing

/// 2020-12-16T15:04:05Z, a Wednesday.
let fixedClock = BuildClock(start: Date(timeIntervalSince1970: 1_608_131_045))

func render(_ text: String, _ configure: (inout RenderContext) -> Void = { _ in }) throws -> String {
  var context = RenderContext(
    phase: .builder, clock: fixedClock,
    variables: ["k8s_version": "1.29", "name": "My Image!", "regions": "us-east-1,eu-west-1"],
    declaredVariables: ["k8s_version", "name", "regions"],
    templateDirectory: "/tmpl", workingDirectory: "/work", buildName: "eks", buildType: "amazon-ebs")
  configure(&context)
  return try Interpolator.render(text, in: context).output
}

@Suite struct InterpolatorTests {
  @Test(arguments: [
    ("plain text", "plain text"),
    ("eks-node-{{user `k8s_version`}}-{{timestamp}}", "eks-node-1.29-1608131045"),
    ("{{ user \"k8s_version\" }}", "1.29"),
    ("{{isotime}}", "2020-12-16T15:04:05Z"),
    ("{{isotime \"2006-01-02\"}}", "2020-12-16"),
    ("{{isotime `20060102-1504`}}", "20201216-1504"),
    ("{{isotime \"02-Jan-06 03_04_05\"}}", "16-Dec-20 03_04_05"),
    ("{{isotime `Mon Jan 2 15:04:05 MST 2006`}}", "Wed Dec 16 15:04:05 UTC 2020"),
    ("{{isotime `3:04PM -0700`}}", "3:04PM +0000"),
    ("{{user `name` | clean_resource_name}}", "My Image-"),
    ("{{ (user `name`) | lower }}", "my image!"),
    ("{{upper `abc`}}", "ABC"),
    ("{{replace `b` `c` 2 `ababab`}}", "acacab"),
    ("{{replace_all `b` `c` `ababab`}}", "acacac"),
    ("{{split `a-b-c` `-` 1}}", "b"),
    ("{{ build_name | replace \"e\" \"E\" 1 }}", "Eks"),
    ("{{build_type}}", "amazon-ebs"),
    ("{{template_dir}}/files", "/tmpl/files"),
    ("{{pwd}}", "/work"),
    ("{{packer_version}}", KilnVersion.packerCompatibility),
    ("{{strftime `%Y%m%d`}}", "20201216"),
    ("{{if eq (len (user `k8s_version`)) 0}}none{{else}}{{user `k8s_version`}}{{end}}", "1.29"),
    ("{{if eq (user `k8s_version`) `1.28`}}old{{else if eq (user `k8s_version`) `1.29`}}cur{{else}}new{{end}}", "cur"),
    ("a {{- ` b ` -}} c", "a b c"),
    ("x{{/* a comment */}}y", "xy"),
    ("{{printf `%s-%d` `a` 3}}", "a-3"),
    ("{{ and true `x` }}|{{ or `` `y` }}|{{ not false }}", "x|y|true"),
  ])
  func renders(input: String, expected: String) throws {
    #expect(try render(input) == expected)
  }

  @Test func uuidIsTimeOrdered() throws {
    let id = try render("{{uuid}}")
    #expect(id.count == 36)
    #expect(id.hasPrefix(String(1_608_131_045, radix: 16)))
    #expect(try render("{{uuid}}") != id)
  }

  @Test func everyTimestampInARunAgrees() throws {
    let a = try render("{{timestamp}}")
    let b = try render("{{isotime `2006`}}-{{timestamp}}")
    #expect(b == "2020-\(a)")
  }

  @Test func rerendersOutputThatContainsActions() throws {
    let out = try render("{{user `later`}}") { $0.variables["later"] = "{{timestamp}}" }
    #expect(out == "1608131045")
  }

  @Test func envOnlyInVariables() throws {
    #expect(throws: InterpolationError.self) { try render("{{env `HOME`}}") }
    let out = try render("{{env `X`}}") {
      $0.phase = .variables
      $0.environment = ["X": "y"]
    }
    #expect(out == "y")
  }

  @Test func undefinedUserIsEmptyWithAWarningOutsideVariablesAndAnErrorInside() throws {
    let context = RenderContext(phase: .builder, clock: fixedClock)
    let result = try Interpolator.render("[{{user `nope`}}]", in: context)
    #expect(result.output == "[]")
    #expect(result.warnings.first?.message.contains("'nope' is not declared") == true)
    var variables = context
    variables.phase = .variables
    #expect(throws: InterpolationError.self) { try Interpolator.render("{{user `nope`}}", in: variables) }
  }

  @Test func buildIsDeferredUntilKnownAndOnlyInProvisioners() throws {
    #expect(throws: InterpolationError.self) { try render("{{build `ID`}}") }
    let deferred = try render("id={{ build `ID` }}") { $0.phase = .provisioner }
    #expect(deferred == "id={{ build `ID` }}")
    let known = try render("id={{build `ID`}}") {
      $0.phase = .provisioner
      $0.buildValues = ["ID": "i-123"]
    }
    #expect(known == "id=i-123")
    #expect(throws: InterpolationError.self) { try render("{{build `Idd`}}") { $0.phase = .provisioner } }
  }

  @Test func fieldsRenderOrDefer() throws {
    let late = try render("{{ .SourceAMIName | clean_resource_name }} in {{.BuildRegion}}") {
      $0.deferredFields = ["SourceAMIName", "BuildRegion"]
    }
    #expect(late == "{{ .SourceAMIName | clean_resource_name }} in {{.BuildRegion}}")
    let known = try render("{{.Vars}} {{.Path}}") { $0.fields = ["Vars": .string("A='1'"), "Path": .string("/tmp/s.sh")] }
    #expect(known == "A='1' /tmp/s.sh")
  }

  /// Bad template syntax: an error with the offset of the problem, never a crash.
  @Test(arguments: [
    ("{{user `x`", 0, "unclosed action"),
    ("ab{{ nosuch }}", 5, "function \"nosuch\" not defined"),
    ("{{clean_resource_nme `x`}}", 2, "did you mean \"clean_resource_name\""),
    ("{{user `x}}", 7, "unterminated raw string"),
    ("{{user \"x}}", 7, "unterminated quoted string"),
    ("{{if true}}x", 0, "no matching {{end}}"),
    ("x{{end}}", 1, "without a matching"),
    ("{{}}", 0, "empty action"),
    ("{{ user | }}", 10, "missing command after '|'"),
    ("{{ $x }}", 3, "not supported"),
    ("{{ `a``b` }}", 6, "missing space?"),
    ("{{ (user `x` }}", 3, "unclosed '('"),
  ])
  func syntaxErrorsHaveOffsets(input: String, offset: Int, message: String) {
    do {
      _ = try InterpolationTemplate.parse(input)
      Issue.record("parsed: \(input)")
    } catch {
      #expect(error.message.contains(message), "\(error.message)")
      #expect(error.offset == offset, "\(error.message)")
    }
  }

  @Test(arguments: [
    ("{{split `a-b` `-` 5}}", "out of range"),
    ("{{isotime `a` `b`}}", "wrong number of arguments"),
    ("{{sed `s/a/b/`}}", "deprecated"),
    ("{{lower}}", "wrong number of arguments"),
    ("{{.Nope}}", "not available"),
    ("{{ `a` `b` }}", "non-function"),
  ])
  func evaluationErrors(input: String, message: String) {
    do {
      _ = try render(input)
      Issue.record("rendered: \(input)")
    } catch let error as InterpolationError {
      #expect(error.message.contains(message), "\(error.message)")
    } catch {
      Issue.record("unexpected error \(error)")
    }
  }

  /// Nesting past the bound is a positioned error, never a stack overflow (it was SIGSEGV
  /// at 20,000 levels). The offset is where the first level too deep opens.
  @Test(arguments: [
    (String(repeating: "{{if true}}", count: 20_000) + String(repeating: "{{end}}", count: 20_000), 100 * 11),
    ("{{" + String(repeating: "(", count: 20_000) + "true" + String(repeating: ")", count: 20_000) + "}}", 2 + 100),
    ("{{if false}}" + String(repeating: "{{else if false}}", count: 20_000) + "{{end}}", 12 + 99 * 17),
    (String(repeating: "{{with `x`}}", count: 20_000) + "{{" + String(repeating: "(", count: 20_000), 100 * 12),
  ])
  func deepNestingIsAnErrorNotACrash(input: String, offset: Int) {
    for attempt in [{ _ = try InterpolationTemplate.parse(input) }, { _ = try render(input) }] as [() throws -> Void] {
      do {
        try attempt()
        Issue.record("accepted \(input.prefix(40))...")
      } catch let error as InterpolationError {
        #expect(error.message.contains("nesting deeper than \(InterpolationTemplate.maximumNesting) levels"), "\(error.message)")
        #expect(error.offset == offset)
      } catch {
        Issue.record("unexpected error \(error)")
      }
    }
  }

  @Test func nestingUpToTheBoundRenders() throws {
    let depth = InterpolationTemplate.maximumNesting
    let blocks = String(repeating: "{{if true}}", count: depth) + "x" + String(repeating: "{{end}}", count: depth)
    #expect(try render(blocks) == "x")
    let parens = "{{" + String(repeating: "(", count: depth) + "upper `y`" + String(repeating: ")", count: depth) + "}}"
    #expect(try render(parens) == "Y")
  }

  /// Each level doubles the string; the bound stops it instead of using all memory.
  @Test func outputThatGrowsWithoutBoundIsAnError() {
    let levels = 40
    let bomb = "{{" + String(repeating: "replace_all `a` (", count: levels) + "`a`" + String(repeating: ") `aa`", count: levels) + "}}"
    #expect {
      try render(bomb)
    } throws: { error in
      (error as? InterpolationError)?.message.contains("grows past 64 MiB") == true
    }
  }

  /// Each printf verb may be a million wide; 200 of them would be 200 MB before the result
  /// was checked. The bound is checked as the result grows, for printf and print alike.
  @Test func printfAndPrintStopAtTheOutputBound() throws {
    let wide = "{{printf \"" + String(repeating: "%1000000d", count: 200) + "\"" + String(repeating: " 1", count: 200) + "}}"
    let joined = "{{print " + String(repeating: "(printf \"%1000000d\" 1) ", count: 200) + "}}"
    for template in [wide, joined] {
      #expect {
        try render(template)
      } throws: { error in
        (error as? InterpolationError)?.message.contains("grows past 64 MiB") == true
      }
    }
    #expect(try render("{{printf \"%5d|%-3s|\" 42 `a`}}") == "   42|a  |")
  }

  /// 60 nested ranges over two items would visit 2^60 bodies; the step bound stops them.
  @Test func nestedRangesStopAtTheStepBound() throws {
    let levels = 60
    var deep = TemplateValue.list([.string("a"), .string("b")])
    for _ in 1..<levels { deep = .list([deep, deep]) }
    let template = "{{range .Deep}}" + String(repeating: "{{range .}}", count: levels - 1) + String(repeating: "{{end}}", count: levels)
    #expect {
      try render(template) { $0.fields = ["Deep": deep] }
    } throws: { error in
      (error as? InterpolationError)?.message.contains("more than \(Interpolator.maximumSteps) steps") == true
    }
    // Within the bound, ranges nest as in Go.
    let small = TemplateValue.list([.list([.string("a"), .string("b")]), .list([.string("c")])])
    #expect(try render("{{range .Deep}}{{range .}}{{.}}{{end}}|{{end}}") { $0.fields = ["Deep": small] } == "ab|c|")
  }

  /// `{{with}}` and `{{range}}` set `.` for their body (Go), and `.Field` reads below it.
  @Test(arguments: [
    ("{{with `abc`}}{{.}}{{end}}", "abc"),
    ("{{with ``}}{{.}}{{else}}empty{{end}}", "empty"),
    ("{{with .Tags}}{{.Team}}/{{.Missing}}{{end}}", "core/<no value>"),
    ("{{range .Items}}<{{.}}>{{end}}", "<a><b>"),
    ("{{range .Tags}}{{.}},{{end}}", "prod,core,"),
    ("{{with .Items}}{{index . 1}}{{end}}", "b"),
    ("{{with `x`}}{{with `y`}}{{.}}{{end}}{{.}}{{end}}", "yx"),
  ])
  func withAndRangeSetDot(input: String, expected: String) throws {
    let out = try render(input) {
      $0.fields = ["Items": .list([.string("a"), .string("b")]), "Tags": .map(["Team": .string("core"), "Env": .string("prod")])]
    }
    #expect(out == expected)
  }
}
