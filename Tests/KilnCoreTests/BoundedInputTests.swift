import Foundation
import KilnCore
import KilnFuzzing
import Testing

/// Runaway inputs (issue 11, item 4): every stage is linear or bounded and says what it cut.
/// These check behaviour (verdicts, messages, positions), never time.
@Suite struct BoundedInputTests {
  static let builder = #"{"type":"null","communicator":"none"}"#

  func validate(_ text: String) -> Validation {
    var options = ValidationOptions()
    options.environment = [:]
    return TemplateValidator.validate(
      SourceFile(path: "t.json", bytes: Array(text.utf8)), options: options, registry: Fuzzing.registry)
  }

  @Test func threeThousandAndOneIdenticalBuildersOnOneLine() throws {
    // Minified: one line, as generated templates are. Every builder is "null": 3,000 clashes.
    let text = #"{"builders":["# + Array(repeating: Self.builder, count: 3001).joined(separator: ",") + "]}"
    let validation = validate(text)
    let clashes = validation.diagnostics.errors.filter { $0.message.contains("builder with name 'null' already exists") }
    #expect(clashes.count == 3000)
    // The last builder's column, counted on along the line: 14 + 3000 builders and commas.
    let last = try #require(clashes.last?.location)
    #expect(last.line == 1 && last.column == 14 + 3000 * (Self.builder.count + 1))
    #expect(validation.builds.count == 1)
  }

  @Test func threeThousandAndOneNamedBuildersAreValid() {
    let builders = (1...3001).map { #"{"type":"null","name":"b\#($0)","communicator":"none"}"# }
    let validation = validate(#"{"builders":["# + builders.joined(separator: ",") + "]}")
    #expect(!validation.diagnostics.hasErrors, "\(validation.diagnostics.items.prefix(3))")
    #expect(validation.builds.count == 3001)
    #expect(validation.builds.last?.name == "b3001")
  }

  @Test func aHugeKeyIsQuotedByItsStartAndSize() throws {
    let key = "start-of-key" + String(repeating: "k", count: 1_000_000)
    let validation = validate(#"{"builders":[\#(Self.builder)],"\#(key)":1}"#)
    let error = try #require(validation.diagnostics.errors.first)
    #expect(validation.diagnostics.errors.count == 1)
    #expect(error.message.hasPrefix("unknown root level key in template: 'start-of-key" + String(repeating: "k", count: 68) + "… (1000012 bytes)'"))
    #expect(error.message.utf8.count < 200)
  }

  @Test func aHugeValueIsQuotedByItsStartAndSize() throws {
    let type = "amazon-" + String(repeating: "x", count: 1_000_000)
    let validation = validate(#"{"builders":[{"type":"\#(type)"}]}"#)
    let error = try #require(validation.diagnostics.errors.first)
    #expect(error.message.contains("builder type \"amazon-xxx"))
    #expect(error.message.contains("… (1000007 bytes)\" is not supported by kiln (kiln supports: "))
    #expect(error.message.utf8.count < 400)
  }

  @Test func aMessageBuiltFromUnboundedTextIsCutAndSaysSo() {
    let diagnostic = Diagnostic.error("x: " + String(repeating: "é", count: 10_000), at: nil)
    #expect(diagnostic.message.utf8.count < Diagnostic.maximumMessageBytes + 100)
    #expect(diagnostic.message.hasSuffix("… (message cut: 20003 bytes)"))
  }

  @Test func interpolationErrorsFarAlongALongLineKeepTheirColumn() throws {
    let padding = Array(repeating: #""\#(UUID().uuidString)""#, count: 500).joined(separator: ",")
    let text = #"{"pad":[\#(padding)],"builders":[{"type":"null","communicator":"x\"{{nope}}"}]}"#
    let validation = validate(text)
    let error = try #require(validation.diagnostics.errors.first { $0.message.contains("nope") })
    // The column of the unknown function's name in the file (one byte a character here).
    let name = try #require(text.range(of: "nope}}"))
    #expect(error.location?.line == 1)
    #expect(error.location?.column == text.distance(from: text.startIndex, to: name.lowerBound) + 1)
  }
}

/// JSON syntax errors show the offending line and a caret (issue 11, item 13).
@Suite struct SourceExcerptTests {
  func syntaxError(_ text: String) throws -> Diagnostic {
    do {
      _ = try JSONReader.read(text, path: "s.json")
    } catch {
      return error
    }
    Issue.record("accepted malformed JSON")
    throw CancellationError()
  }

  @Test func theLineAndACaretUnderTheColumn() throws {
    let error = try syntaxError("{\n  \"b\": [1 2]\n}")
    #expect(error.description == "s.json:2:11: error: invalid JSON: expected ',' or ']' after a list element, found '2'")
    #expect(error.rendered == error.description + "\n    \"b\": [1 2]\n" + String(repeating: " ", count: 12) + "^")
  }

  @Test func tabsAreKeptInTheCaretLineSoTheCaretLinesUp() throws {
    let error = try syntaxError("{\n\t\t\"b\": tru\n}")
    let excerpt = try #require(error.excerpt)
    #expect(excerpt.line == "\t\t\"b\": tru")
    #expect(excerpt.caret == "\t\t     ^")
  }

  @Test func aLongLineIsShownAsAWindowAroundTheColumn() throws {
    let text = #"{"a":""# + String(repeating: "x", count: 100_000) + #"", "b" 1}"#
    let error = try syntaxError(text)
    let excerpt = try #require(error.excerpt)
    #expect(excerpt.line.hasPrefix("…xxx") && excerpt.line.hasSuffix(#""b" 1}"#))
    #expect(excerpt.line.count <= 2 * SourceExcerpt.halfWidth + 3)
    // The caret stands under the character the message names.
    let caretColumn = excerpt.caret.count - 1
    #expect(Array(excerpt.line)[caretColumn] == "1")
  }

  @Test func controlCharactersDoNotReachTheTerminal() throws {
    let error = try syntaxError("{\"a\": \u{1B}[31m}")
    #expect(error.excerpt?.line == "{\"a\": ?[31m}")
  }
}

/// A short secret is masked only where it stands as a whole token (the rule is on `SecretMasker`).
@Suite struct SecretMaskerTests {
  @Test func aLongSecretIsMaskedEverywhere() {
    #expect(SecretMasker(["hunter2"]).mask("a=hunter2x, hunter2") == "a=<sensitive>x, <sensitive>")
  }

  @Test func aOneCharacterSecretDoesNotEatEveryWord() {
    let masker = SecretMasker(["a"])
    #expect(masker.mask("==> eks: Waiting for an instance at line 1") == "==> eks: Waiting for an instance at line 1")
    #expect(masker.mask(#"'region' must be one of "us-east-1", not "a""#) == #"'region' must be one of "us-east-1", not "<sensitive>""#)
    #expect(masker.mask("value 'a' and `a`") == "value '<sensitive>' and `<sensitive>`")
    #expect(masker.mask("a") == "<sensitive>")
    #expect(masker.mask("first\na\nlast a") == "first\n<sensitive>\nlast <sensitive>")
  }

  /// A short secret printed by a script, beside other text (Packer masks it too).
  @Test func aShortSecretIsMaskedWhereItStandsAsAToken() {
    let masker = SecretMasker(["123"])
    #expect(masker.mask("pin=123, code 123") == "pin=<sensitive>, code <sensitive>")
    #expect(masker.mask("1234 x123 123_ 123") == "1234 x123 123_ <sensitive>")
    #expect(masker.mask("123123") == "123123")
  }

  @Test func theLongerSecretIsMaskedWholeFirst() {
    #expect(SecretMasker(["abc", "abcdef"]).mask("x abcdef \"abc\"") == "x <sensitive> \"<sensitive>\"")
  }
}
