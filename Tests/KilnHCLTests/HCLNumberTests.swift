import Testing

@testable import KilnHCL

/// `HCLNumber` emulates cty's big.Float numbers: these rows are what cty prints for them
/// (checked against Go in `HCLPeerConformanceTests` too).
@Suite struct HCLNumberTests {
  static func parse(_ text: String) throws -> HCLNumber {
    try #require(HCLNumber(parsing: text), "\(text) should parse")
  }

  @Test(arguments: [
    ("0", "0"), ("5", "5"), ("3.2", "3.2"), ("0.1", "0.1"), ("1e3", "1000"), ("1.5e-3", "0.0015"), ("007", "7"),
    ("123456789012345678901234567890", "123456789012345678901234567890"),
    ("3.14159265358979323846264338327950288419716939937510582097494459", "3.14159265358979323846264338327950288419716939937510582097494459"),
    ("-2.5", "-2.5"), ("Inf", "+Inf"), ("-inf", "-Inf"), ("1E2", "100"), (".5", "0.5"), ("5.", "5"),
  ])
  func parsesAndPrints(text: String, printed: String) throws {
    #expect(try Self.parse(text).description == printed)
  }

  @Test(arguments: ["", "-", "1e", "1.2.3", "abc", "1_000", "0x10", "1e+", " 1"])
  func rejects(text: String) {
    #expect(HCLNumber(parsing: text) == nil)
  }

  @Test func arithmeticMatchesCty() throws {
    let p = Self.parse
    #expect(try p("2").adding(p("3.5")).description == "5.5")
    #expect(try p("1").divided(by: p("10")).description == "0.1")
    #expect(try p("3.5").subtracting(p("2")).description == "1.5")
    #expect(try p("2").multiplied(by: p("4.5")).description == "9")
    #expect(try p("11").remainder(dividingBy: p("5")).description == "1")
    // The spec suite's operators.t: cty's 512-bit binary arithmetic, digit for digit.
    #expect(
      try p("11").remainder(dividingBy: p("5.1")).description
        == "0.80000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000024"
    )
    #expect(
      try p("3.14159265358979323846264338327950288419716939937510582097494459").adding(p("1")).description
        == "4.14159265358979323846264338327950288419716939937510582097494459")
    #expect(try p("1").divided(by: p("0")).description == "+Inf")
    #expect(throws: HCLNumber.ArithmeticError.notANumber) { try p("0").divided(by: p("0")) }
  }

  @Test func integersFromFunctionsCarry64Bits() throws {
    // cty.NumberIntVal has 64 bits of precision, so 1/3 prints fewer digits than a literal's.
    let third = try HCLNumber(1).divided(by: HCLNumber(3))
    #expect(third.description == "0.33333333333333333334")
    #expect(try Self.parse("1").divided(by: Self.parse("3")).description.count > 150)
  }

  @Test func doubles() throws {
    #expect(try #require(HCLNumber(0.1)).description == "0.1")
    #expect(try #require(HCLNumber(1.4142135623730951)).description == "1.4142135623730951")
    #expect(try Self.parse("0.1").doubleValue == 0.1)
  }

  @Test func hugeMagnitudesSaturate() throws {
    #expect(try Self.parse("1e100000").isInfinite)
    #expect(try Self.parse("1e-100000").isZero)
    #expect(HCLNumber(parsing: "1e99999999999999999999") == nil)
  }
}
