import Testing

@testable import KilnHCL

/// The linear-time engine behind `regex`, `regexall`, `regex_replace` (Go's RE2 syntax and
/// leftmost-first semantics; the peer table checks many more patterns against Go).
@Suite struct RegexEngineTests {
  func firstMatch(_ pattern: String, _ text: String) throws -> String? {
    let engine = try RegexEngine(pattern)
    let input = Array(text.unicodeScalars)
    guard let found = engine.match(input, from: 0) else { return nil }
    return String(String.UnicodeScalarView(input[found[0]..<found[1]]))
  }

  @Test(arguments: [
    ("(?m)^b", "a\nb", "b"), ("a|ab", "ab", "a"), ("ab|a", "ab", "ab"), ("a*?b", "aaab", "aaab"), ("a+?", "aaa", "a"),
    ("x*", "abc", ""), ("[0-9]{2,}", "a1234", "1234"), ("\\bfoo\\b", "a foo b", "foo"), ("(?i)HELLO", "say hello", "hello"),
    ("[^a-c]+", "abcdef", "def"), ("\\$\\{", "x${y", "${"), ("é+", "aéé", "éé"), ("a.c", "a\nc abc", "abc"),
  ])
  func matchesLikeGo(pattern: String, text: String, expected: String) throws {
    #expect(try firstMatch(pattern, text) == expected)
  }

  @Test func noMatch() throws {
    #expect(try firstMatch("z", "abc") == nil)
    #expect(try firstMatch("^b", "ab") == nil)
  }

  @Test(arguments: ["(", "a)", "[a", "*a", "a**", "\\p{L}", "a{2,1}", "(?P<n>a)(?P<n>b)", "a{1001}"])
  func rejects(pattern: String) {
    #expect(throws: RegexEngine.SyntaxError.self) { try RegexEngine(pattern) }
  }

  /// A pattern that makes a backtracking engine run for ages finishes at once here.
  @Test func nestedRepetitionIsLinear() throws {
    let text = String(repeating: "a", count: 5_000) + "!"
    let engine = try RegexEngine("^(a+)+$")
    let input = Array(text.unicodeScalars)
    let clock = ContinuousClock()
    var found: [Int]?
    let elapsed = clock.measure { found = engine.match(input, from: 0) }
    #expect(found == nil)
    #expect(elapsed < .seconds(20))
  }
}
