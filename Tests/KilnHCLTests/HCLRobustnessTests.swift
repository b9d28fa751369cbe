import Foundation
import Testing

@testable import KilnHCL

/// No input may crash or hang KilnHCL: nesting is bounded (100 levels, a positioned error),
/// evaluation is bounded in steps and in what it builds, and random input only ever gives
/// diagnostics.
@Suite struct HCLRobustnessTests {
  static func parse(_ source: String) -> [HCLDiagnostic] { HCL.parseExpression(source).1 }

  static func evaluate(_ source: String, limits: EvalLimits = .standard) -> Evaluated {
    let (expression, problems) = HCL.parseExpression(source)
    guard !problems.hasErrors else { return Evaluated(.dynamicUnknown, problems) }
    return expression.evaluate(in: EvalContext(variables: ["x": .number(1), "y": .tuple([.number(1)])]), limits: limits)
  }

  static let depth = 20_000

  /// Deeply nested sources, each named by what it nests (the sources themselves are too long
  /// to print as test arguments).
  static let deepSources: [(String, String)] = [
    ("parentheses", String(repeating: "(", count: depth) + "1" + String(repeating: ")", count: depth)),
    ("tuples", String(repeating: "[", count: depth) + String(repeating: "]", count: depth)),
    ("objects", String(repeating: "{a = ", count: depth) + "1" + String(repeating: "}", count: depth)),
    ("negations", String(repeating: "-", count: depth) + "1"),
    ("nots", String(repeating: "!", count: depth) + "true"),
    ("calls", String(repeating: "upper(", count: depth) + "\"a\"" + String(repeating: ")", count: depth)),
    ("templates", String(repeating: "\"${", count: depth) + "1" + String(repeating: "}\"", count: depth)),
    ("if directives", "\"" + String(repeating: "%{ if true }", count: depth) + String(repeating: "%{ endif }", count: depth) + "\""),
    ("for directives", "\"" + String(repeating: "%{ for x in [1] }", count: depth) + String(repeating: "%{ endfor }", count: depth) + "\""),
    ("sums", (1...depth).map { _ in "1" }.joined(separator: " + ")),
    ("indexes", "x" + String(repeating: "[x]", count: depth)),
    ("splats", "x" + String(repeating: "[*]", count: depth)),
    ("conditionals", String(repeating: "true ? ", count: depth) + "1" + String(repeating: " : 2", count: depth)),
    ("for expressions", String(repeating: "[for a in ", count: depth) + "[]" + String(repeating: ": a]", count: depth)),
  ]

  @Test(arguments: deepSources.map(\.0))
  func deepNestingIsAPositionedError(name: String) throws {
    let source = try #require(Self.deepSources.first { $0.0 == name }).1
    let problems = Self.parse(source)
    let deep = try #require(problems.first { $0.summary == "Too deeply nested" }, "\(name): \(problems.prefix(3).map(\.summary))")
    #expect(deep.subject?.start.line == 1)
    // What the parser kept evaluates without crashing, and the error stays reported.
    let (expression, parseProblems) = HCL.parseExpression(source)
    _ = expression.evaluate(in: EvalContext(variables: ["x": .dynamicUnknown]))
    #expect(parseProblems.hasErrors)
  }

  /// Just under the bound, every kind of nesting parses and evaluates (in a debug build's
  /// larger stack frames too).
  @Test(arguments: [
    (String(repeating: "[", count: 95) + "1" + String(repeating: "]", count: 95), "list"),
    (String(repeating: "\"${", count: 95) + "1" + String(repeating: "}\"", count: 95), "template"),
    (String(repeating: "upper(", count: 95) + "\"a\"" + String(repeating: ")", count: 95), "call"),
    (String(repeating: "true ? ", count: 95) + "1" + String(repeating: " : 2", count: 95), "conditional"),
    ("\"" + String(repeating: "%{ if true }", count: 95) + "x" + String(repeating: "%{ endif }", count: 95) + "\"", "directive"),
    ((1...240).map { _ in "1" }.joined(separator: " + "), "sum"),
    (String(repeating: "[", count: 60) + "1" + String(repeating: "]", count: 60) + String(repeating: "[0]", count: 60), "index"),
  ])
  func nestingUpToTheBoundIsFine(source: String, kind: String) {
    let result = Self.evaluate(source)
    #expect(!result.diagnostics.hasErrors, "\(kind): \(result.diagnostics.prefix(2))")
    #expect(result.value.isWhollyKnown, "\(kind)")
  }

  @Test func deepJSONUpToTheBoundIsFine() {
    let source = String(repeating: "[", count: 95) + "\"${1}\"" + String(repeating: "]", count: 95)
    let (expression, problems) = HCL.parseJSONExpression(source)
    #expect(!problems.hasErrors)
    let result = expression.evaluate(in: EvalContext())
    #expect(!result.diagnostics.hasErrors)
    #expect(result.value.length == 1)
  }

  @Test func deepJSONIsAPositionedError() throws {
    let source = String(repeating: "[", count: Self.depth) + String(repeating: "]", count: Self.depth)
    let (_, problems) = HCL.parseJSONExpression(source)
    let deep = try #require(problems.first)
    #expect(deep.summary == "Too deeply nested")
    #expect(deep.subject?.start.column == 102)
  }

  @Test func deepBodiesAreAPositionedError() throws {
    let source = String(repeating: "a {\n", count: Self.depth) + String(repeating: "}\n", count: Self.depth)
    let file = HCL.parseConfig(Array(source.utf8), filename: "deep.pkr.hcl")
    let deep = try #require(file.diagnostics.first { $0.summary == "Too deeply nested" })
    #expect(deep.subject?.start.line == 101)
  }

  @Test func evaluationIsBoundedInSteps() {
    let result = Self.evaluate("[for a in range(1000): [for b in range(1000): [for c in range(1000): a + b + c]]]")
    #expect(result.diagnostics.contains { $0.summary == "Evaluation too costly" })
  }

  @Test func evaluationIsBoundedInWhatItBuilds() {
    let result = Self.evaluate("[for i in range(1000): format(\"%1000000s\", \"\")]")
    #expect(result.diagnostics.contains { $0.summary == "Result too large" })
    let indent = Self.evaluate("indent(100000000, \"a\\nb\")")
    #expect(indent.diagnostics.hasErrors)
    let product = Self.evaluate("setproduct(range(1000), range(1000), range(1000))")
    #expect(product.diagnostics.hasErrors)
  }

  /// Random inputs from HCL's own characters: every one parses and evaluates to a value or
  /// diagnostics, never a crash, and every diagnostic has a position in the input.
  @Test func randomInputNeverCrashes() {
    var generator = SplitMix64(seed: 14)
    let pieces = [
      "a", "x", "1", "0.5", "e", " ", "\n", "\"", "${", "%{", "}", "~}", "{", "[", "]", "(", ")", ",", ".", "*", "+", "-", "/",
      "%", "=", "==", "!", "?", ":", "<<EOT\n", "EOT\n", "<<-X\n", "for", "in", "if", "endif", "endfor", "else", "=>", "...",
      "true", "null", "#", "//", "/*", "*/", "\\", "\\u00", "é", "\u{0}", "'", "`", ";", "&", "|", "upper(", "[*]", ".*",
    ]
    for round in 0..<3000 {
      let count = Int(generator.next() % 24) + 1
      let source = (0..<count).map { _ in pieces[Int(generator.next() % UInt64(pieces.count))] }.joined()
      let (expression, problems) = HCL.parseExpression(source, filename: "fuzz")
      let result = expression.evaluate(in: EvalContext(variables: ["a": .string("v"), "x": .number(round)]))
      for problem in problems + result.diagnostics {
        #expect(problem.subject != nil, "\(source.debugDescription): \(problem)")
        if let subject = problem.subject { #expect(subject.start.byte <= source.utf8.count + 1) }
      }
      let file = HCL.parseConfig(Array(source.utf8), filename: "fuzz")
      _ = file.body.justAttributes()
      let json = HCL.parseJSONConfig(Array(source.utf8), filename: "fuzz")
      _ = json.body.content(BodySchema(attributes: [.init("a")], blocks: [.init("b", labels: ["n"])]))
    }
  }
}

/// A small deterministic generator for reproducible random inputs.
struct SplitMix64 {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
