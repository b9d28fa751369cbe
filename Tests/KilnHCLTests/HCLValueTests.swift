import Testing

@testable import KilnHCL

/// Unknown values (what a later step marks late-bound values with), type expressions and
/// conversion rules, beyond what the peer table covers.
@Suite struct HCLValueTests {
  static let context = EvalContext(variables: [
    "build": .object(["ID": .unknown(.string), "Host": .string("10.0.0.1")]),
    "later": .dynamicUnknown,
  ])

  static func value(_ source: String) throws -> HCLValue {
    let (expression, problems) = HCL.parseExpression(source)
    try #require(!problems.hasErrors, "\(problems)")
    let result = expression.evaluate(in: context)
    try #require(!result.diagnostics.hasErrors, "\(source): \(result.diagnostics)")
    return result.value
  }

  @Test(arguments: [
    ("\"ami-${build.ID}\"", HCLValue.unknown(.string)), ("upper(build.ID)", .unknown(.string)), ("build.ID == \"x\"", .unknown(.bool)),
    ("true ? build.ID : \"a\"", .unknown(.string)), ("later.anything[3]", .dynamicUnknown), ("length(later)", .unknown(.number)),
    ("can(build.ID)", .unknown(.bool)), ("later ? 1 : 2", .unknown(.number)), ("[for x in later: x]", .dynamicUnknown),
    ("build.Host", .string("10.0.0.1")), ("length([build.ID, 1])", .number(2)), ("build.ID != null", .unknown(.bool)),
  ])
  func unknownsPropagate(source: String, expected: HCLValue) throws {
    let value = try Self.value(source)
    #expect(value.rawEquals(expected), "\(source) gave \(value)")
  }

  @Test func unknownsInsideCollectionsStayWhereTheyAre() throws {
    let value = try Self.value("[build.Host, build.ID]")
    #expect(!value.isWhollyKnown)
    #expect(value.isKnown)
    #expect(value.sequenceElements?.first?.rawEquals(.string("10.0.0.1")) == true)
  }

  @Test(arguments: [
    ("string", HCLType.string), ("list(number)", .list(.number)), ("map(any)", .map(.dynamic)),
    ("object({name = string, ports = list(number)})", .object(["name": .string, "ports": .list(.number)])),
    ("tuple([bool, string])", .tuple([.bool, .string])), ("set(map(string))", .set(.map(.string))),
  ])
  func typeExpressions(source: String, expected: HCLType) {
    let (type, problems) = HCLTypeExpression.type(of: HCL.parseExpression(source).0)
    #expect(type == expected)
    #expect(problems.isEmpty)
  }

  @Test(arguments: ["strin", "list", "list(string, number)", "object([string])", "\"string\"", "map(foo)"])
  func badTypeExpressions(source: String) {
    let (type, problems) = HCLTypeExpression.type(of: HCL.parseExpression(source).0)
    #expect(type == nil)
    #expect(problems.first?.summary == "Invalid type specification")
  }

  @Test func conversions() throws {
    #expect(try HCLConvert.convert(.string("12.50"), to: .number).rawEquals(.number(HCLNumber(parsing: "12.5") ?? HCLNumber(0))))
    #expect(throws: ConversionError("a number is required")) { try HCLConvert.convert(.string("twelve"), to: .number) }
    #expect(throws: ConversionError("a bool is required; to convert from string, use lowercase \"true\"")) {
      try HCLConvert.convert(.string("TRUE"), to: .bool)
    }
    let tuple = HCLValue.tuple([.number(1), .string("a")])
    #expect(try HCLConvert.convert(tuple, to: .list(.dynamic)).type == .list(.string))
    #expect(try HCLConvert.convert(.null(.dynamic), to: .list(.string)).rawEquals(.null(.list(.string))))
    #expect(throws: ConversionError("attribute \"b\" is required")) {
      try HCLConvert.convert(.object(["a": .number(1)]), to: .object(["a": .number, "b": .string]))
    }
    #expect(HCLConvert.unify([.number, .string], lossy: true) == .string)
    #expect(HCLConvert.unify([.list(.number), .tuple([.string])], lossy: true) == .list(.string))
    #expect(HCLConvert.unify([.object(["a": .number]), .map(.string)], lossy: true) == .map(.string))
    #expect(HCLConvert.unify([.number, .list(.number)], lossy: true) == nil)
  }

  @Test func setsAreDeduplicatedAndOrderedAsCtyOrdersThem() {
    let set = HCLValue.makeSet([.string("b"), .string("a"), .string("b"), .null(.string)], elementType: .string)
    #expect(set.description == "toset([\"a\", \"b\", null])")
    let numbers = HCLValue.makeSet([.number(10), .number(9), .number(10)], elementType: .number)
    #expect(numbers.sequenceElements?.count == 2)
    #expect(numbers.sequenceElements?.first?.rawEquals(.number(9)) == true)
  }
}
