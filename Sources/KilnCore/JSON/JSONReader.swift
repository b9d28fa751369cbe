/// Reads JSON (RFC 8259) into `JSONNode`s with positions.
///
/// Strict where Packer is strict (no trailing commas, no comments, duplicate keys rejected),
/// and safe on hostile input: invalid UTF-8, control characters, nesting deeper than
/// `maximumDepth` and truncated input are all errors with a position, never a crash.
public struct JSONReader {
  /// Deeper nesting than this is refused (no template needs it; recursion needs a bound).
  public static let maximumDepth = 512

  /// The result of reading a file: the root value, and the duplicate-key problems found on
  /// the way (reading goes on after a duplicate, so all of them are reported at once).
  public struct Result: Sendable {
    public var root: JSONNode
    public var duplicateKeys: [Diagnostic]
  }

  private let file: SourceFile
  private let bytes: [UInt8]
  private var index = 0
  private var depth = 0
  // Newlines only occur in whitespace (a raw newline in a string is an error), so the line
  // is tracked there. The column is counted on from the last position asked for, never from
  // the line's start again: a minified template is one long line, and counting from its
  // start at every value made reading quadratic (3,001 builders on one line took minutes).
  private var line = 1
  private var lineStart = 0
  private var columnMark = 0
  private var columnAtMark = 1
  private var duplicates: [Diagnostic] = []

  private init(file: SourceFile) {
    self.file = file
    self.bytes = file.bytes
  }

  /// Parses a whole document. Throws `Diagnostic` (one syntax error: JSON cannot be read past
  /// it).
  public static func read(_ file: SourceFile) throws(Diagnostic) -> Result {
    var reader = JSONReader(file: file)
    // A UTF-8 byte order mark is tolerated, as Go's decoder does not: say so instead.
    if reader.bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
      throw reader.error("the file starts with a UTF-8 byte order mark; save it without one")
    }
    reader.skipWhitespace()
    if reader.index >= reader.bytes.count {
      throw reader.error("the file is empty; expected a JSON object")
    }
    let root = try reader.readValue()
    reader.skipWhitespace()
    if reader.index < reader.bytes.count {
      throw reader.error("unexpected \(reader.describeCurrent()) after the end of the top-level value")
    }
    return Result(root: root, duplicateKeys: reader.duplicates)
  }

  /// Parses text that did not come from a file (tests, `-var` values).
  public static func read(_ text: String, path: String = "<input>") throws(Diagnostic) -> Result {
    try read(SourceFile(path: path, bytes: Array(text.utf8)))
  }

  // MARK: - Values

  private mutating func readValue() throws(Diagnostic) -> JSONNode {
    guard index < bytes.count else { throw error("unexpected end of input; expected a value") }
    let start = index
    let location = here()
    let origin = (file, start)
    switch bytes[index] {
    case UInt8(ascii: "{"): return try readObject(location, origin)
    case UInt8(ascii: "["): return try readArray(location, origin)
    case UInt8(ascii: "\""): return JSONNode(.string(try readString()), at: location, origin: origin)
    case UInt8(ascii: "t"):
      try expectWord("true")
      return JSONNode(.bool(true), at: location, origin: origin)
    case UInt8(ascii: "f"):
      try expectWord("false")
      return JSONNode(.bool(false), at: location, origin: origin)
    case UInt8(ascii: "n"):
      try expectWord("null")
      return JSONNode(.null, at: location, origin: origin)
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
      return JSONNode(.number(try readNumber()), at: location, origin: origin)
    default:
      throw error("unexpected \(describeCurrent()); expected a value")
    }
  }

  private mutating func enter() throws(Diagnostic) {
    depth += 1
    if depth > Self.maximumDepth {
      throw error("nesting deeper than \(Self.maximumDepth) levels")
    }
  }

  private mutating func readObject(
    _ location: SourceLocation, _ origin: (SourceFile, Int)
  ) throws(Diagnostic) -> JSONNode {
    try enter()
    defer { depth -= 1 }
    index += 1 // {
    var members: [JSONMember] = []
    var firstSeen: [String: SourceLocation] = [:]
    skipWhitespace()
    if peek(UInt8(ascii: "}")) {
      index += 1
      return JSONNode(.object(members), at: location, origin: origin)
    }
    while true {
      skipWhitespace()
      guard index < bytes.count else { throw error("unexpected end of input inside an object") }
      guard bytes[index] == UInt8(ascii: "\"") else {
        let trailing = members.isEmpty ? "" : " (a trailing comma before '}' is not allowed in JSON)"
        throw error("expected a string key, found \(describeCurrent())\(bytes[index] == UInt8(ascii: "}") ? trailing : "")")
      }
      let keyLocation = here()
      let key = try readString()
      if let first = firstSeen[key] {
        duplicates.append(
          .error(
            "duplicate key '\(Diagnostic.quote(key))' (first defined at line \(first.line), column \(first.column))",
            at: keyLocation))
      } else {
        firstSeen[key] = keyLocation
      }
      skipWhitespace()
      guard peek(UInt8(ascii: ":")) else {
        throw error("expected ':' after the key \"\(Diagnostic.quote(key))\", found \(describeCurrent())")
      }
      index += 1
      skipWhitespace()
      let value = try readValue()
      members.append(JSONMember(key: key, keyLocation: keyLocation, value: value))
      skipWhitespace()
      guard index < bytes.count else { throw error("unexpected end of input inside an object; expected ',' or '}'") }
      if bytes[index] == UInt8(ascii: ",") {
        index += 1
        continue
      }
      if bytes[index] == UInt8(ascii: "}") {
        index += 1
        return JSONNode(.object(members), at: location, origin: origin)
      }
      throw error("expected ',' or '}' after an object member, found \(describeCurrent())")
    }
  }

  private mutating func readArray(
    _ location: SourceLocation, _ origin: (SourceFile, Int)
  ) throws(Diagnostic) -> JSONNode {
    try enter()
    defer { depth -= 1 }
    index += 1 // [
    var elements: [JSONNode] = []
    skipWhitespace()
    if peek(UInt8(ascii: "]")) {
      index += 1
      return JSONNode(.array(elements), at: location, origin: origin)
    }
    while true {
      skipWhitespace()
      if peek(UInt8(ascii: "]")), !elements.isEmpty {
        throw error("unexpected ']' after ',' (a trailing comma is not allowed in JSON)")
      }
      elements.append(try readValue())
      skipWhitespace()
      guard index < bytes.count else { throw error("unexpected end of input inside a list; expected ',' or ']'") }
      if bytes[index] == UInt8(ascii: ",") {
        index += 1
        continue
      }
      if bytes[index] == UInt8(ascii: "]") {
        index += 1
        return JSONNode(.array(elements), at: location, origin: origin)
      }
      throw error("expected ',' or ']' after a list element, found \(describeCurrent())")
    }
  }

  private mutating func readString() throws(Diagnostic) -> String {
    index += 1 // opening quote
    var out: [UInt8] = []
    while true {
      guard index < bytes.count else { throw error("unterminated string") }
      let byte = bytes[index]
      switch byte {
      case UInt8(ascii: "\""):
        index += 1
        guard let text = String(validating: out, as: UTF8.self) else {
          throw error("string is not valid UTF-8")
        }
        return text
      case UInt8(ascii: "\\"):
        index += 1
        guard index < bytes.count else { throw error("unterminated string") }
        let escape = bytes[index]
        index += 1
        switch escape {
        case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
        case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
        case UInt8(ascii: "/"): out.append(UInt8(ascii: "/"))
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
          var scalar = try readHex4()
          if (0xD800...0xDBFF).contains(scalar) {
            // A high surrogate must be followed by \u and a low surrogate.
            if index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
              bytes[index + 1] == UInt8(ascii: "u")
            {
              index += 2
              let low = try readHex4()
              if (0xDC00...0xDFFF).contains(low) {
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
              } else {
                scalar = 0xFFFD
              }
            } else {
              scalar = 0xFFFD
            }
          } else if (0xDC00...0xDFFF).contains(scalar) {
            scalar = 0xFFFD
          }
          out.append(contentsOf: Array(String(Character(Unicode.Scalar(scalar) ?? "\u{FFFD}")).utf8))
        default:
          index -= 1
          throw error("invalid escape '\\\(Character(Unicode.Scalar(escape)))' in string")
        }
      default:
        if byte < 0x20 {
          throw error(
            byte == 0x0A
              ? "unterminated string (a newline inside a string must be written \\n)"
              : "control character 0x\(String(byte, radix: 16)) in string must be escaped")
        }
        // The run of plain bytes up to the next quote, escape or control byte, copied at
        // once (a 50 MB value is one run).
        let end = Self.endOfPlainRun(bytes, from: index)
        out.append(contentsOf: bytes[index..<end])
        index = end
      }
    }
  }

  private mutating func readHex4() throws(Diagnostic) -> UInt32 {
    guard index + 4 <= bytes.count else { throw error("unterminated \\u escape") }
    var value: UInt32 = 0
    for _ in 0..<4 {
      let byte = bytes[index]
      let digit: UInt32
      switch byte {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
      case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
      case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
      default: throw error("invalid hexadecimal digit in \\u escape")
      }
      value = value * 16 + digit
      index += 1
    }
    return value
  }

  private mutating func readNumber() throws(Diagnostic) -> String {
    let start = index
    if peek(UInt8(ascii: "-")) { index += 1 }
    guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid number: expected a digit") }
    if bytes[index] == UInt8(ascii: "0") {
      index += 1
      if index < bytes.count, isDigit(bytes[index]) { throw error("invalid number: leading zeros are not allowed") }
    } else {
      while index < bytes.count, isDigit(bytes[index]) { index += 1 }
    }
    if peek(UInt8(ascii: ".")) {
      index += 1
      guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid number: expected a digit after '.'") }
      while index < bytes.count, isDigit(bytes[index]) { index += 1 }
    }
    if peek(UInt8(ascii: "e")) || peek(UInt8(ascii: "E")) {
      index += 1
      if peek(UInt8(ascii: "+")) || peek(UInt8(ascii: "-")) { index += 1 }
      guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid number: expected a digit in the exponent") }
      while index < bytes.count, isDigit(bytes[index]) { index += 1 }
    }
    return String(decoding: bytes[start..<index], as: UTF8.self)
  }

  private mutating func expectWord(_ word: String) throws(Diagnostic) {
    let expected = Array(word.utf8)
    guard bytes.count - index >= expected.count, Array(bytes[index..<index + expected.count]) == expected else {
      throw error("unexpected \(describeCurrent()); expected a value")
    }
    index += expected.count
  }

  // MARK: - Helpers

  static func endOfPlainRun(_ bytes: [UInt8], from start: Int) -> Int {
    bytes.withUnsafeBufferPointer { buffer in
      var end = start
      while end < buffer.count {
        let byte = buffer[end]
        if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 { break }
        end += 1
      }
      return end
    }
  }

  private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

  private func peek(_ byte: UInt8) -> Bool { index < bytes.count && bytes[index] == byte }

  private mutating func skipWhitespace() {
    while index < bytes.count {
      switch bytes[index] {
      case 0x0A:
        index += 1
        line += 1
        lineStart = index
        columnMark = index
        columnAtMark = 1
      case 0x20, 0x09, 0x0D: index += 1
      default: return
      }
    }
  }

  private mutating func here() -> SourceLocation {
    let end = min(index, bytes.count)
    if end < columnMark {
      (columnMark, columnAtMark) = (lineStart, 1)
    }
    columnAtMark += SourceFile.scalarCount(bytes, columnMark..<end)
    columnMark = end
    return SourceLocation(path: file.path, line: line, column: columnAtMark)
  }

  private func describeCurrent() -> String {
    guard index < bytes.count else { return "end of input" }
    let byte = bytes[index]
    if byte >= 0x20, byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
    return "byte 0x\(String(byte, radix: 16, uppercase: true))"
  }

  /// A syntax error at the current byte, with the source line and a caret under it.
  private mutating func error(_ message: String) -> Diagnostic {
    Diagnostic(
      .error, "invalid JSON: \(message)", at: here(),
      excerpt: SourceExcerpt(bytes: bytes, lineStart: lineStart, offset: index))
  }
}
