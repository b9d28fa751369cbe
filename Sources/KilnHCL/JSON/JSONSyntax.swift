/// A value of HCL's JSON syntax, with its range. Objects keep every property in order,
/// duplicates included (the JSON syntax spec requires it: a block type may repeat).
public struct JSONNode: Sendable {
  public indirect enum Kind: Sendable {
    case object([Property], openRange: HCLRange, closeRange: HCLRange)
    case array([JSONNode], openRange: HCLRange)
    case string(String)
    case number(HCLNumber)
    case bool(Bool)
    case null
    /// What a syntax error left.
    case invalid
  }

  public struct Property: Sendable {
    public var name: String
    public var nameRange: HCLRange
    public var value: JSONNode
    public var range: HCLRange { .between(nameRange, value.range) }
  }

  public var kind: Kind
  public var range: HCLRange

  /// Where a diagnostic about this value points (an object's or array's opening bracket).
  public var startRange: HCLRange {
    switch kind {
    case .object(_, let open, _), .array(_, let open): open
    default: range
    }
  }
}

/// HCL's JSON syntax: a JSON reader that keeps positions, duplicates and big numbers, as
/// hcl/json does (its messages and positions, tabs counting two columns).
enum JSONSyntax {
  static let maximumDepth = 100

  private enum TokenKind: Equatable {
    case braceOpen, braceClose, bracketOpen, bracketClose, comma, colon, equals, keyword, string, number, eof, invalid
  }

  private struct JSONToken {
    var kind: TokenKind
    var bytes: ArraySlice<UInt8>
    var range: HCLRange
  }

  static func parse(_ bytes: [UInt8], filename: String) -> (JSONNode, [HCLDiagnostic]) {
    var parser = JSONParser(tokens: scan(bytes, filename: filename))
    let node = parser.parseValue(depth: 0)
    var diagnostics = parser.diagnostics
    if diagnostics.isEmpty, parser.peek().kind != .eof {
      diagnostics.append(.error("Extraneous data after value", "Extra characters appear after the JSON value.", parser.peek().range))
    }
    return (node, diagnostics)
  }

  private static func scan(_ bytes: [UInt8], filename: String) -> [JSONToken] {
    var tokens: [JSONToken] = []
    var position = HCLPosition.start
    var index = 0
    func token(_ kind: TokenKind, _ start: Int, _ startPosition: HCLPosition) {
      tokens.append(JSONToken(kind: kind, bytes: bytes[start..<index], range: HCLRange(filename: filename, start: startPosition, end: position)))
    }
    func isAlpha(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) }
    while true {
      whitespace: while index < bytes.count {
        switch bytes[index] {
        case UInt8(ascii: " "):
          position.column += 1
        case UInt8(ascii: "\n"):
          position.line += 1
          position.column = 1
        case UInt8(ascii: "\r"):
          break
        case UInt8(ascii: "\t"):
          position.column += 2
        default:
          break whitespace
        }
        position.byte += 1
        index += 1
      }
      guard index < bytes.count else {
        tokens.append(JSONToken(kind: .eof, bytes: [], range: .empty(filename, at: position)))
        return tokens
      }
      let start = index
      let startPosition = position
      let first = bytes[index]
      switch first {
      case UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: ","), UInt8(ascii: ":"), UInt8(ascii: "="):
        index += 1
        position.byte += 1
        position.column += 1
        let kind: TokenKind =
          switch first {
          case UInt8(ascii: "{"): .braceOpen
          case UInt8(ascii: "}"): .braceClose
          case UInt8(ascii: "["): .bracketOpen
          case UInt8(ascii: "]"): .bracketClose
          case UInt8(ascii: ","): .comma
          case UInt8(ascii: ":"): .colon
          default: .equals
          }
        token(kind, start, startPosition)
      case UInt8(ascii: "\""):
        index += 1
        position.byte += 1
        position.column += 1
        var escaping = false
        while index < bytes.count {
          let b = bytes[index]
          if b == UInt8(ascii: "\\") {
            escaping.toggle()
            index += 1
            position.byte += 1
            position.column += 1
          } else if b == UInt8(ascii: "\"") {
            index += 1
            position.byte += 1
            position.column += 1
            if !escaping { break }
            escaping = false
          } else if b < 32 {
            break
          } else {
            // One grapheme cluster per column.
            var end = index + Scanner.scalarLength(bytes, index)
            while end < bytes.count, bytes[end] >= 0x80 {
              let candidate = String(decoding: bytes[index..<(end + Scanner.scalarLength(bytes, end))], as: UTF8.self)
              guard candidate.count == 1 else { break }
              end += Scanner.scalarLength(bytes, end)
            }
            position.byte += end - index
            position.column += 1
            index = end
            escaping = false
          }
        }
        token(.string, start, startPosition)
      case UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."), UInt8(ascii: "0")...UInt8(ascii: "9"):
        while index < bytes.count, "-+.eE0123456789".utf8.contains(bytes[index]) {
          index += 1
          position.byte += 1
          position.column += 1
        }
        token(.number, start, startPosition)
      case _ where isAlpha(first):
        while index < bytes.count, isAlpha(bytes[index]) || bytes[index] == UInt8(ascii: "_") {
          index += 1
          position.byte += 1
          position.column += 1
        }
        token(.keyword, start, startPosition)
      default:
        index += 1
        position.byte += 1
        position.column += 1
        token(.invalid, start, startPosition)
        tokens.append(JSONToken(kind: .eof, bytes: [], range: .empty(filename, at: position)))
        return tokens
      }
    }
  }

  private struct JSONParser {
    var tokens: [JSONToken]
    var index = 0
    var diagnostics: [HCLDiagnostic] = []

    func peek() -> JSONToken { tokens[min(index, tokens.count - 1)] }

    @discardableResult
    mutating func read() -> JSONToken {
      let token = peek()
      if index < tokens.count - 1 { index += 1 }
      return token
    }

    mutating func fail(_ summary: String, _ detail: String, _ range: HCLRange, context: HCLRange? = nil) -> JSONNode? {
      diagnostics.append(.error(summary, detail, range, context: context))
      return nil
    }

    mutating func parseValue(depth: Int) -> JSONNode {
      let token = peek()
      return parseValueOrNil(depth: depth) ?? JSONNode(kind: .invalid, range: token.range)
    }

    mutating func parseValueOrNil(depth: Int) -> JSONNode? {
      let token = peek()
      if depth > JSONSyntax.maximumDepth {
        index = tokens.count - 1
        return fail(
          "Too deeply nested", "This JSON value nests more than \(JSONSyntax.maximumDepth) levels deep, more than Kiln accepts.", token.range)
      }
      let valueStart = "A JSON value must start with a brace, a bracket, a number, a string, or a keyword."
      switch token.kind {
      case .braceOpen: return parseObject(depth: depth)
      case .bracketOpen: return parseArray(depth: depth)
      case .number:
        read()
        let text = String(decoding: token.bytes, as: UTF8.self)
        guard JSONSyntax.isJSONNumber(token.bytes), let number = HCLNumber(parsing: text) else {
          return fail("Invalid JSON number", "There is a syntax error in the given JSON number.", token.range)
        }
        return JSONNode(kind: .number(number), range: token.range)
      case .string:
        read()
        switch JSONSyntax.decodeString(Array(token.bytes)) {
        case .success(let text):
          return JSONNode(kind: .string(UnicodeNFC.normalize(text)), range: token.range)
        case .failure(let offset):
          var range = token.range
          if let offset {
            range.start.byte += offset
            range.start.column += offset
            range.end = range.start
            range.end.byte += 1
            range.end.column += 1
          }
          return fail(
            "Invalid JSON string", "There is a syntax error in the given JSON string.", range,
            context: range == token.range ? nil : token.range)
        }
      case .keyword:
        read()
        let word = String(decoding: token.bytes, as: UTF8.self)
        switch word {
        case "true": return JSONNode(kind: .bool(true), range: token.range)
        case "false": return JSONNode(kind: .bool(false), range: token.range)
        case "null": return JSONNode(kind: .null, range: token.range)
        case "undefined", "NaN", "Infinity":
          return fail("Invalid JSON keyword", "The JavaScript identifier \"\(word)\" cannot be used in JSON.", token.range)
        default:
          let suggestion = Suggestions.closest(word, among: ["true", "false", "null"]).map { " Did you mean \"\($0)\"?" } ?? ""
          return fail("Invalid JSON keyword", "\"\(word)\" is not a valid JSON keyword.\(suggestion)", token.range)
        }
      case .braceClose: return fail("Missing JSON value", valueStart, token.range)
      case .bracketClose: return fail("Missing array element value", valueStart, token.range)
      case .eof: return fail("Missing value", "The JSON data ends prematurely.", token.range)
      default: return fail("Invalid start of value", valueStart, token.range)
      }
    }

    mutating func skip(from token: JSONToken, open: TokenKind, close: TokenKind) {
      var token = token
      var depth = 1
      while true {
        switch token.kind {
        case open: depth += 1
        case close:
          depth -= 1
          if depth <= 1 { return }
        case .eof: return
        default: break
        }
        token = read()
      }
    }

    mutating func parseObject(depth: Int) -> JSONNode? {
      let open = read()
      var properties: [JSONNode.Property] = []
      while true {
        if peek().kind == .braceClose { break }
        guard let key = parseValueOrNil(depth: depth + 1) else { return nil }
        guard case .string(let name) = key.kind else {
          return fail("Invalid object property name", "A JSON object property name must be a string", key.startRange)
        }
        let colon = read()
        guard colon.kind == .colon else {
          skip(from: colon, open: .braceOpen, close: .braceClose)
          if colon.kind == .braceClose || colon.kind == .comma {
            return fail("Missing object value", "A JSON object attribute must have a value, introduced by a colon.", colon.range)
          }
          if colon.kind == .equals {
            return fail("Missing property value colon", "JSON uses a colon as its name/value delimiter, not an equals sign.", colon.range)
          }
          return fail("Missing property value colon", "A colon must appear between an object property's name and its value.", colon.range)
        }
        guard let value = parseValueOrNil(depth: depth + 1) else { return nil }
        properties.append(JSONNode.Property(name: name, nameRange: key.range, value: value))
        switch peek().kind {
        case .comma:
          let comma = read()
          if peek().kind == .braceClose {
            return fail("Trailing comma in object", "JSON does not permit a trailing comma after the final property in an object.", comma.range)
          }
          continue
        case .eof:
          return fail("Unclosed object", "No closing brace was found for this JSON object.", open.range)
        case .bracketClose:
          read()
          return fail("Mismatched braces", "A JSON object must be closed with a brace, not a bracket.", peek().range)
        case .braceClose:
          break
        default:
          skip(from: read(), open: .braceOpen, close: .braceClose)
          return fail("Missing attribute seperator comma", "A comma must appear between each property definition in an object.", peek().range)
        }
        break
      }
      let close = read()
      return JSONNode(kind: .object(properties, openRange: open.range, closeRange: close.range), range: .between(open.range, close.range))
    }

    mutating func parseArray(depth: Int) -> JSONNode? {
      let open = read()
      var values: [JSONNode] = []
      while true {
        if peek().kind == .bracketClose { break }
        guard let value = parseValueOrNil(depth: depth + 1) else { return nil }
        values.append(value)
        switch peek().kind {
        case .comma:
          let comma = read()
          if peek().kind == .bracketClose {
            return fail("Trailing comma in array", "JSON does not permit a trailing comma after the final value in an array.", comma.range)
          }
          continue
        case .colon:
          skip(from: read(), open: .bracketOpen, close: .bracketClose)
          return fail("Invalid array value", "A colon is not used to introduce values in a JSON array.", peek().range)
        case .eof:
          skip(from: read(), open: .bracketOpen, close: .bracketClose)
          return fail("Unclosed object", "No closing bracket was found for this JSON array.", open.range)
        case .braceClose:
          skip(from: read(), open: .bracketOpen, close: .bracketClose)
          return fail("Mismatched brackets", "A JSON array must be closed with a bracket, not a brace.", peek().range)
        case .bracketClose:
          break
        default:
          skip(from: read(), open: .bracketOpen, close: .bracketClose)
          return fail("Missing attribute seperator comma", "A comma must appear between each value in an array.", peek().range)
        }
        break
      }
      let close = read()
      return JSONNode(kind: .array(values, openRange: open.range), range: .between(open.range, close.range))
    }
  }

  /// RFC 8259's number grammar (what Go's json.Number accepts).
  static func isJSONNumber(_ bytes: ArraySlice<UInt8>) -> Bool {
    var i = bytes.startIndex
    func digit(_ index: Int) -> Bool { index < bytes.endIndex && bytes[index] >= 0x30 && bytes[index] <= 0x39 }
    if i < bytes.endIndex, bytes[i] == UInt8(ascii: "-") { i += 1 }
    guard digit(i) else { return false }
    if bytes[i] == UInt8(ascii: "0") {
      i += 1
    } else {
      while digit(i) { i += 1 }
    }
    if i < bytes.endIndex, bytes[i] == UInt8(ascii: ".") {
      i += 1
      guard digit(i) else { return false }
      while digit(i) { i += 1 }
    }
    if i < bytes.endIndex, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
      i += 1
      if i < bytes.endIndex, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
      guard digit(i) else { return false }
      while digit(i) { i += 1 }
    }
    return i == bytes.endIndex
  }

  enum StringResult {
    case success(String)
    /// The byte offset of the error in the token, when known.
    case failure(Int?)
  }

  /// A JSON string token (quotes included) decoded as Go's encoding/json does: escapes,
  /// surrogate pairs, invalid UTF-8 replaced by U+FFFD.
  static func decodeString(_ bytes: [UInt8]) -> StringResult {
    guard bytes.count >= 2, bytes[0] == UInt8(ascii: "\""), bytes[bytes.count - 1] == UInt8(ascii: "\"") else {
      // Unterminated: Go reports the end of input.
      return .failure(nil)
    }
    var out = String.UnicodeScalarView()
    var i = 1
    let end = bytes.count - 1
    func hex4(_ at: Int) -> UInt32? {
      guard at + 4 <= end, let value = UInt32(String(decoding: bytes[at..<(at + 4)], as: UTF8.self), radix: 16) else { return nil }
      return value
    }
    var raw: [UInt8] = []
    func flushRaw() {
      if !raw.isEmpty {
        out.append(contentsOf: String(decoding: raw, as: UTF8.self).unicodeScalars)
        raw.removeAll()
      }
    }
    while i < end {
      let b = bytes[i]
      if b < 0x20 { return .failure(i + 1) }
      if b == UInt8(ascii: "\"") { return .failure(i + 1) }
      guard b == UInt8(ascii: "\\") else {
        raw.append(b)
        i += 1
        continue
      }
      flushRaw()
      guard i + 1 < end else { return .failure(i + 2) }
      switch bytes[i + 1] {
      case UInt8(ascii: "\""): out.append("\"")
      case UInt8(ascii: "\\"): out.append("\\")
      case UInt8(ascii: "/"): out.append("/")
      case UInt8(ascii: "b"): out.append("\u{08}")
      case UInt8(ascii: "f"): out.append("\u{0C}")
      case UInt8(ascii: "n"): out.append("\n")
      case UInt8(ascii: "r"): out.append("\r")
      case UInt8(ascii: "t"): out.append("\t")
      case UInt8(ascii: "u"):
        guard let first = hex4(i + 2) else { return .failure(i + 3) }
        i += 6
        if (0xD800..<0xDC00).contains(first), i + 1 < end, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u"),
          let second = hex4(i + 2), (0xDC00..<0xE000).contains(second)
        {
          let combined = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
          out.append(Unicode.Scalar(combined) ?? "\u{FFFD}")
          i += 6
        } else {
          out.append(Unicode.Scalar(first) ?? "\u{FFFD}")
        }
        continue
      default:
        return .failure(i + 2)
      }
      i += 2
    }
    flushRaw()
    return .success(String(out))
  }
}
