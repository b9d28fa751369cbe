import KilnCore
import Testing

@Suite struct JSONReaderTests {
  @Test func keepsPositionsOfKeysAndValues() throws {
    let text = "{\n  \"builders\": [\n    {\"type\": \"null\"}\n  ]\n}"
    let root = try JSONReader.read(text, path: "t.json").root
    let member = try #require(root.members?.first)
    #expect(member.key == "builders")
    #expect(member.keyLocation.description == "t.json:2:3")
    let builder = try #require(member.value.elements?.first)
    #expect(builder.location.line == 3 && builder.location.column == 5)
    #expect(builder["type"]?.stringValue == "null")
    #expect(builder["type"]?.location.column == 14)
  }

  @Test func reportsEveryDuplicateKey() throws {
    let text = #"{"a": 1, "b": {"x": 1, "x": 2}, "a": 3}"#
    let result = try JSONReader.read(text)
    #expect(result.duplicateKeys.count == 2)
    #expect(result.duplicateKeys.map(\.message).contains { $0.contains("duplicate key 'x'") })
    #expect(result.duplicateKeys.map(\.message).contains { $0.contains("duplicate key 'a' (first defined at line 1, column 2)") })
  }

  @Test func keepsNumberTextExactly() throws {
    let root = try JSONReader.read(#"{"n": 123456789012345678901234567890, "f": -1.5e10}"#).root
    guard case .number(let n)? = root["n"]?.value, case .number(let f)? = root["f"]?.value else {
      Issue.record("numbers not read")
      return
    }
    #expect(n == "123456789012345678901234567890")
    #expect(f == "-1.5e10")
  }

  @Test func decodesEscapesAndSurrogatePairs() throws {
    let root = try JSONReader.read(#"{"s": "a\"b\\c\n\u00e9\ud83d\ude00"}"#).root
    #expect(root["s"]?.stringValue == "a\"b\\c\né😀")
  }

  /// Malformed input: a clear error with a position every time, never a crash.
  @Test(arguments: [
    ("", "the file is empty"),
    ("{", "unexpected end of input inside an object"),
    (#"{"a": "b}"#, "unterminated string"),
    (#"{"a": 1,}"#, "trailing comma"),
    ("[1, 2,]", "trailing comma"),
    (#"{"a" 1}"#, "expected ':'"),
    (#"{"a": tru}"#, "expected a value"),
    (#"{"a": 01}"#, "leading zeros"),
    (#"{"a": 1.}"#, "expected a digit after '.'"),
    (#"{"a": "\q"}"#, "invalid escape"),
    (#"{"a": "\u12"}"#, "\\u"),
    ("{\"a\": \"x\ny\"}", "newline inside a string"),
    ("{} {}", "after the end of the top-level value"),
    (#"{a: 1}"#, "expected a string key"),
  ])
  func malformedInputGivesAPositionedError(text: String, expected: String) {
    do {
      _ = try JSONReader.read(text, path: "bad.json")
      Issue.record("accepted malformed JSON: \(text)")
    } catch {
      #expect(error.message.contains(expected), "\(error.message)")
      #expect(error.location?.path == "bad.json")
      #expect(error.description.hasPrefix("bad.json:1:"))
    }
  }

  @Test func invalidUTF8IsAnError() {
    let bytes: [UInt8] = Array(#"{"a": ""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)
    #expect(throws: Diagnostic.self) { try JSONReader.read(SourceFile(path: "u.json", bytes: bytes)) }
  }

  @Test func deepNestingIsRefusedNotACrash() {
    let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
    do {
      _ = try JSONReader.read(deep)
      Issue.record("accepted 100000 levels")
    } catch {
      #expect(error.message.contains("nesting deeper than"))
    }
  }

  @Test func errorLineAndColumnOnALaterLine() {
    do {
      _ = try JSONReader.read("{\n  \"a\": 1,\n  \"b\": [1 2]\n}", path: "x.json")
      Issue.record("accepted [1 2], a list without a comma")
    } catch {
      #expect(error.message.contains("expected ',' or ']'"), "\(error.message)")
      #expect(error.location == SourceLocation(path: "x.json", line: 3, column: 11))
    }
  }

  @Test func mapsDecodedStringOffsetsBackToColumns() throws {
    let root = try JSONReader.read(#"{"k": "a\"b{{x}}"}"#, path: "m.json").root
    let node = try #require(root["k"])
    // decoded: a"b{{x}}  -> the '{' is decoded byte 3, raw column 12 (after the \" escape).
    #expect(node.location(ofDecodedByte: 3).column == 12)
  }
}
