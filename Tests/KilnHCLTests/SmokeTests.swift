import Testing

@testable import KilnHCL

@Suite struct SmokeTests {
  func eval(_ source: String, _ variables: [String: HCLValue] = [:]) -> (String, [HCLDiagnostic]) {
    let (expression, parseProblems) = HCL.parseExpression(source)
    if parseProblems.hasErrors { return ("parse error", parseProblems) }
    let result = expression.evaluate(in: EvalContext(variables: variables))
    return (result.value.description, result.diagnostics)
  }

  @Test(arguments: [
    ("1 + 2 * 3", "7"), ("\"a${1+1}b\"", "\"a2b\""), ("[for x in [1,2,3]: x * 2 if x > 1]", "[4, 6]"),
    ("{for k, v in {a = 1, b = 2}: v => k}", "{\"1\" = \"a\", \"2\" = \"b\"}"), ("upper(\"abc\")", "\"ABC\""),
    ("true ? 1 : \"a\"", "\"1\""), ("[{a = 1}, {a = 2}][*].a", "[1, 2]"), ("length(\"héllo\")", "5"),
    ("\"%{ if true ~} yes %{~ endif }\"", "\"yes\""), ("format(\"%05.1f|%x|%q\", 3.14159, 255, \"a\")", "\"003.1|ff|\\\"a\\\"\""),
    ("jsonencode({b = [1, \"x\"], a = null})", "\"{\\\"a\\\":null,\\\"b\\\":[1,\\\"x\\\"]}\""),
    ("regex_replace(\"hello world\", \"(o)\", \"[$1]\")", "\"hell[o] w[o]rld\""),
  ])
  func evaluates(source: String, expected: String) {
    let (value, problems) = eval(source)
    #expect(value == expected, "\(source): \(problems)")
    #expect(!problems.hasErrors, "\(source): \(problems)")
  }
}
