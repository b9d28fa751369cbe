import Foundation
import KilnCore
import Testing
import _KilnTestSupport

/// Kiln's `{{ }}` engine against Go's own text/template, the engine Packer runs.
///
/// `Tests/Fixtures/gotemplate/main.go` renders every row with Go, with Packer's functions
/// stubbed to the values this file's context gives Kiln. A row matches when both render the
/// same text, or both refuse it. A row Kiln answers differently on purpose says so, with its
/// reason, and what Kiln does instead.
@Suite struct GoTemplateConformanceTests {
  enum Answer: Equatable, CustomStringConvertible {
    case output(String)
    case error
    var description: String {
      switch self {
      case .output(let text): "output \(text.debugDescription)"
      case .error: "an error"
      }
    }
  }

  struct Row: Sendable {
    var template: String
    /// What Kiln answers instead of Go, and why; nil when it must answer as Go does.
    var difference: (kiln: Answer, reason: String)?
  }

  static func same(_ template: String) -> Row { Row(template: template) }
  static func differs(_ template: String, kiln: Answer, because reason: String) -> Row {
    Row(template: template, difference: (kiln, reason))
  }

  static let rows: [Row] = [
    // Text, actions and constants.
    same("plain text"),
    same("a{{`b`}}c"),
    same("{{\"q\\tx\\n\\x41\\u00e9\\\\\\\"\"}}"),
    same("{{`a\\nb`}}"),
    same("{{\"unknown \\q escape\"}}"),
    same("{{1}} {{-5}} {{+3}} {{0x1F}} {{0o17}} {{0b101}} {{1_000}}"),
    same("{{1.5}} {{3.0}} {{1e3}} {{1.25e-2}}"),
    same("{{1.2.3}}"),
    same("{{true}} {{false}}"),
    same("{{nil}}"),
    differs("{{'a'}}", kiln: .error, because: "character constants: Packer templates use strings; Kiln refuses them with a hint"),
    // Comments and trim markers.
    same("a{{/* a comment */}}b"),
    same("a {{- /* c */ -}} b"),
    same("a  {{- `b` -}}  c"),
    same("a {{-`b`}}"),
    same("{{3 -}} x"),
    same("{{/* unclosed }}"),
    // Pipelines and parentheses.
    same("{{`ABC` | lower}}"),
    same("{{`a` | printf `%s-%s` `b`}}"),
    same("{{user `name` | clean_resource_name | lower}}"),
    same("{{upper (lower `AbC`)}}"),
    same("{{(`x`)}}"),
    same("{{printf `%d` (len `abc`)}}"),
    same("{{`a` `b`}}"),
    same("{{ `a` | `b` }}"),
    same("{{(upper `a`) | lower}}"),
    // if / else / else if.
    same("{{if true}}y{{end}}"),
    same("{{if ``}}y{{else}}n{{end}}"),
    same("{{if 0}}y{{else if 1}}z{{end}}"),
    same("{{if .Empty}}y{{else}}n{{end}}"),
    same("{{if .Items}}y{{end}}"),
    same("{{if .None}}y{{else}}n{{end}}"),
    same("{{if nil}}y{{else}}n{{end}}"),
    same("{{if}}x{{end}}"),
    same("{{if 1}}x{{else}}y{{else}}z{{end}}"),
    // with.
    same("{{with `abc`}}{{.}}{{end}}"),
    same("{{with .Tags}}{{.Team}}/{{.Env}}{{end}}"),
    same("{{with ``}}x{{else}}{{.Name}}{{end}}"),
    same("{{with .Count}}{{.}}{{end}}"),
    same("{{with `a`}}{{with `b`}}{{.}}{{end}}{{.}}{{end}}"),
    same("{{with `a`}}{{else with `b`}}{{.}}{{end}}"),
    // range over what `.` can hold (Packer's functions return strings only).
    same("{{range .Items}}<{{.}}>{{end}}"),
    same("{{range .None}}x{{else}}empty{{end}}"),
    same("{{range .Tags}}{{.}},{{end}}"),
    same("{{range `abc`}}{{.}}{{end}}"),
    same("{{range .Count}}{{.}}{{end}}"),
    same("{{range split `a,b` `,` 0}}{{.}}{{end}}"),
    differs(
      "{{range .Items}}{{break}}{{end}}", kiln: .error,
      because: "{{break}}/{{continue}} came in Go 1.18; Packer 1.6.6 was built with an older Go that refuses them"),
    // `.` and fields.
    same("{{.Name}}"),
    same("{{.Tags.Team}}"),
    same("{{.Tags.Nope}}"),
    same("{{.Name.X}}"),
    same("{{.}}"),
    differs(
      "{{.Nope}}", kiln: .error,
      because: "Packer's data are structs, where an unknown field is an error; Go's map here prints <no value>"),
    // Logic and comparison.
    same("{{and 1 0}}|{{and 1 `x`}}|{{or 0 ``}}|{{or 0 `y`}}|{{not 0}}|{{not `x`}}"),
    same("{{and}}"),
    same("{{not 1 2}}"),
    same("{{eq 1 1}} {{eq `a` `b` `a`}} {{eq true true}} {{eq .Count 3}} {{eq (len .Items) 2}}"),
    same("{{eq 1 `1`}}"),
    same("{{eq 1 1.0}}"),
    same("{{eq nil nil}}"),
    same("{{eq 1}}"),
    same("{{ne 1 2}} {{ne `a` `a`}}"),
    same("{{lt 1 2}} {{lt `a` `b`}} {{le 2 2}} {{gt 2.5 1.5}} {{ge 2.5 2.5}}"),
    same("{{gt 1.5 1}}"),
    same("{{lt true false}}"),
    same("{{lt 1 2 3}}"),
    // len and index.
    same("{{len `héllo`}} {{len .Items}} {{len .Tags}}"),
    same("{{len 3}}"),
    same("{{index .Items 1}} {{index .Tags `Team`}} {{index `abc` 1}} {{index .Tags `Nope`}}"),
    same("{{index .Items 5}}"),
    same("{{index .Items `x`}}"),
    // print, printf, println.
    same("{{printf `%d-%s` 3 `x`}}"),
    same("{{printf `[%5s|%-3d|%03d]` `a` 7 5}}"),
    same("{{printf `%q` `a\"b`}}"),
    same("{{printf `%q|%8.3f|%+d|%-5t|%c|%#x|%o|%b|%e|%g` \"a\\tb\\x01\\\\\" 3.14159 5 true 65 255 8 5 1234.5 0.5}}"),
    same("{{printf `%s|%d|%t|%v` true 1.5 `x` (len .Items)}}"),
    same("{{printf `%v` .Items}} {{printf `%v` .Tags}}"),
    same("{{printf `%x` `hi`}} {{printf `%x` 255}} {{printf `%X` 255}}"),
    same("{{printf `%f` 1.5}} {{printf `%.2f` 1.5}} {{printf `%t` true}} {{printf `%%`}}"),
    same("{{printf `%d`}}"),
    same("{{printf `%d` `x`}}"),
    same("{{printf `%s` 1 2}}"),
    same("{{print 1 2}} {{print `a` 1 `b`}} {{print 1 2 `x` 3 4}}"),
    same("{{println `a` 1}}"),
    same("{{print nil}} {{printf `%v` nil}}"),
    same("{{html `<a href=\"x\">'&'</a>`}}"),
    same("{{html \"a\\x00b\" 1 2}} {{js \"\\x01\\u0085\"}}"),
    same("{{js `'a' \"b\" <c> & d=e \\ f`}}"),
    same("{{urlquery `a b&c/d?é`}}"),
    // Packer's functions (stubbed identically in main.go).
    same("{{user `k8s_version`}} [{{user `nope`}}]"),
    same("{{user}}"),
    same("{{user `a` `b`}}"),
    same("{{user 3}}"),
    same("{{upper `é`}} {{lower `ÀB`}} {{upper `ß`}}"),
    same("{{upper 3}}"),
    same("{{split `a-b-c` `-` 2}}"),
    same("{{split `a-b` `-` `1`}}"),
    same("{{split `a-b` `-` 1.0}}"),
    same("{{split `a-b` `-` 5}}"),
    same("{{replace `a` `b` -1 `aaa`}} {{replace `a` `b` 0 `aaa`}} {{replace `` `-` 2 `abc`}}"),
    same("{{replace_all `` `-` `ab`}} {{replace_all `é` `e` `éé`}}"),
    same("{{isotime}} {{isotime `2006-01-02T15:04:05.000Z07:00`}} {{isotime `Jan _2 Mon 3PM`}}"),
    same("{{isotime `Z0700 MST pm .999 06`}}"),
    same("{{isotime `a` `b`}}"),
    same("{{clean_resource_name `a#b(c)[d] ./'@_-é`}}"),
    same("{{timestamp}} {{build_name}} {{build_type}} {{template_dir}} {{pwd}} {{packer_version}}"),
    same("{{timestamp 1}}"),
    same("{{env `X`}}"),
    // Syntax errors.
    same("{{"),
    same("}} {{`x`}}"),
    same("{{end}}"),
    same("{{if true}}"),
    same("{{)}}"),
    same("{{nosuch}}"),
    same("{{ user | }}"),
    same("{{`unterminated}}"),
    differs(
      "{{$x := `a`}}{{$x}}", kiln: .error,
      because: "template variables ($x) are not implemented; Kiln refuses them clearly rather than misrender"),
    differs(
      "{{define `t`}}x{{end}}{{template `t`}}", kiln: .error,
      because: "named templates are not implemented; a Packer string is one template"),
  ]

  @Test func everyRowAnswersAsGoDoes() async throws {
    let go = try await GoTemplateRenderer.build()
    let answers = try await go.render(Self.rows.map(\.template))
    try #require(answers.count == Self.rows.count)
    #expect(Self.rows.count >= 60)
    for (row, goAnswer) in zip(Self.rows, answers) {
      let kiln = Self.kiln(row.template)
      if let difference = row.difference {
        #expect(kiln == difference.kiln, "\(row.template): Kiln gave \(kiln), expected \(difference.kiln) (\(difference.reason))")
        #expect(kiln != goAnswer, "\(row.template): now answers as Go does (\(goAnswer)); make it a `same` row")
      } else {
        #expect(kiln == goAnswer, "\(row.template): Kiln gave \(kiln), Go gave \(goAnswer)")
      }
    }
  }

  /// Kiln's answer in the context `main.go` mirrors.
  static func kiln(_ template: String) -> Answer {
    let context = RenderContext(
      phase: .builder, clock: fixedClock,
      variables: ["k8s_version": "1.29", "name": "My Image!", "regions": "us-east-1,eu-west-1"],
      declaredVariables: ["k8s_version", "name", "regions"],
      templateDirectory: "/tmpl", workingDirectory: "/work", buildName: "eks", buildType: "amazon-ebs",
      fields: [
        "Name": .string("img"), "Count": .integer(3), "Empty": .string(""),
        "Items": .list([.string("a"), .string("b")]), "None": .list([]),
        "Tags": .map(["Team": .string("core"), "Env": .string("prod")]),
      ])
    do {
      return .output(try Interpolator.render(template, in: context).output)
    } catch {
      return .error
    }
  }
}

/// `Tests/Fixtures/gotemplate/main.go`, built once into a temporary directory, offline
/// (GOPATH mode, no proxy), and run on a table of templates.
struct GoTemplateRenderer {
  let executable: URL

  static let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/gotemplate/main.go")

  struct Failure: Error, CustomStringConvertible {
    var description: String
  }

  static func build() async throws -> GoTemplateRenderer {
    let directory = try Scratch.directory("kiln-gotemplate")
    let executable = directory.appendingPathComponent("gotemplate")
    var environment = ProcessInfo.processInfo.environment
    environment["GO111MODULE"] = "off"
    environment["GOPROXY"] = "off"
    environment["GOFLAGS"] = ""
    if environment["HOME"] == nil, environment["GOCACHE"] == nil {
      environment["GOCACHE"] = directory.appendingPathComponent("cache").path
    }
    _ = try await run(["go", "build", "-o", executable.path, source.path], environment: environment, limit: 300)
    return GoTemplateRenderer(executable: executable)
  }

  func render(_ templates: [String]) async throws -> [GoTemplateConformanceTests.Answer] {
    let table = executable.deletingLastPathComponent().appendingPathComponent("table.json")
    try JSONEncoder().encode(templates).write(to: table)
    let output = try await Self.run([executable.path, table.path], environment: [:], limit: 60)
    struct Result: Decodable {
      var output: String?
      var error: String?
    }
    return try JSONDecoder().decode([Result].self, from: output).map { $0.output.map { .output($0) } ?? .error }
  }

  /// Runs a command (looked up on PATH) with a bound on its time; its standard output.
  static func run(_ arguments: [String], environment: [String: String], limit seconds: Double) async throws -> Data {
    let captured = try await ChildProcess.capture("/usr/bin/env", arguments: arguments, environment: environment, timeout: .seconds(seconds))
    if captured.stopped != nil {
      throw Failure(description: "\(arguments.joined(separator: " ")) did not finish within \(Int(seconds)) s")
    }
    guard captured.termination == .exited(0) else {
      throw Failure(description: "\(arguments.joined(separator: " ")) ended with \(captured.termination): \(captured.errorText)")
    }
    return Data(captured.output)
  }
}
