/// HCL's native-syntax scanner: bytes to tokens, in one pass, never failing (anything it does
/// not recognize becomes an `invalid` or `badUTF8` token for the parser to report).
///
/// It is modal, as hclsyntax's scanner is: *normal* mode for expressions and structure;
/// *quoted* and *heredoc* template modes, entered at `"` and `<<EOT`; *bare* template mode
/// for a standalone template. A `${` or `%{` in a template enters normal mode until the
/// matching `}` (counted against the braces opened since), which returns to the template.
struct Scanner {
  enum Mode: Sendable { case normal, bare }

  private enum State {
    case normal
    case quoted
    case heredoc(marker: ArraySlice<UInt8>, startOfLine: Bool)
    case bare
  }

  private let bytes: [UInt8]
  private let filename: String
  private var tokens: [Token] = []
  private var position: HCLPosition
  private var states: [State]
  private var braces = 0
  private var returnBraces: [Int] = []
  /// Byte offset of `bytes[0]` in the file (a JSON string's template starts inside it).
  private let base: Int
  private let startIndex: Int

  /// The tokens of `bytes`, ending with an `eof` token. A UTF-8 byte order mark is skipped.
  static func scan(_ bytes: [UInt8], filename: String, mode: Mode, start: HCLPosition = .start) -> [Token] {
    var scanner = Scanner(bytes: bytes, filename: filename, mode: mode, start: start)
    scanner.run()
    return scanner.tokens
  }

  private init(bytes: [UInt8], filename: String, mode: Mode, start: HCLPosition) {
    self.bytes = bytes
    self.filename = filename
    self.base = start.byte
    var start = start
    if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { start.byte += 3 }
    self.startIndex = start.byte - base
    self.position = start
    self.states = [mode == .normal ? .normal : .bare]
  }

  // MARK: - Driver

  private mutating func run() {
    var index = startIndex
    while index < bytes.count {
      guard let state = states.last else { break }
      switch state {
      case .normal: index = scanNormal(at: index)
      case .quoted: index = scanQuoted(at: index)
      case .heredoc(let marker, let startOfLine): index = scanHeredoc(at: index, marker: marker, startOfLine: startOfLine)
      case .bare: index = scanBare(at: index)
      }
    }
    emit(.eof, bytes.count, bytes.count)
  }

  /// Appends a token for `start..<end`, computing its range as HCL does: the start column
  /// moves one per skipped byte (spaces), the end by the token's grapheme clusters.
  private mutating func emit(_ type: TokenType, _ start: Int, _ end: Int) {
    var from = position
    from.column += base + start - position.byte
    from.byte = base + start
    var to = from
    to.byte = base + end
    if end > start {
      let text = String(decoding: bytes[start..<end], as: UTF8.self)
      for character in text {
        if character == "\n" || character == "\r\n" {
          to.line += 1
          to.column = 1
        } else {
          to.column += 1
        }
      }
    }
    position = to
    tokens.append(Token(type: type, bytes: bytes[start..<end], range: HCLRange(filename: filename, start: from, end: to)))
  }

  private func byte(_ index: Int) -> UInt8? { index < bytes.count ? bytes[index] : nil }

  private func matches(_ index: Int, _ text: String) -> Bool {
    let pattern = Array(text.utf8)
    guard index + pattern.count <= bytes.count else { return false }
    return bytes[index..<(index + pattern.count)].elementsEqual(pattern)
  }

  /// The scalar starting at `index` and its length in bytes, or nil for invalid UTF-8.
  private func scalar(at index: Int) -> (Unicode.Scalar, Int)? {
    guard let first = byte(index) else { return nil }
    if first < 0x80 { return (Unicode.Scalar(first), 1) }
    let length: Int
    var value: UInt32
    switch first {
    case 0xC2...0xDF: (length, value) = (2, UInt32(first & 0x1F))
    case 0xE0...0xEF: (length, value) = (3, UInt32(first & 0x0F))
    case 0xF0...0xF4: (length, value) = (4, UInt32(first & 0x07))
    default: return nil
    }
    guard index + length <= bytes.count else { return nil }
    for offset in 1..<length {
      let next = bytes[index + offset]
      guard next & 0xC0 == 0x80 else { return nil }
      value = value << 6 | UInt32(next & 0x3F)
    }
    let minimum: UInt32 = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000
    guard value >= minimum, let scalar = Unicode.Scalar(value) else { return nil }
    return (scalar, length)
  }

  /// Emits one token for the character at `index` (invalid) or its bad byte.
  private mutating func emitUnknown(at index: Int) -> Int {
    if let (_, length) = scalar(at: index) {
      emit(.invalid, index, index + length)
      return index + length
    }
    emit(.badUTF8, index, index + 1)
    return index + 1
  }

  // MARK: - Normal mode

  private static let singles: [UInt8: TokenType] = [
    UInt8(ascii: "["): .oBrack, UInt8(ascii: "]"): .cBrack, UInt8(ascii: "("): .oParen, UInt8(ascii: ")"): .cParen,
    UInt8(ascii: "."): .dot, UInt8(ascii: ","): .comma, UInt8(ascii: "*"): .star, UInt8(ascii: "/"): .slash,
    UInt8(ascii: "%"): .percent, UInt8(ascii: "+"): .plus, UInt8(ascii: "-"): .minus, UInt8(ascii: "="): .equal,
    UInt8(ascii: "<"): .lessThan, UInt8(ascii: ">"): .greaterThan, UInt8(ascii: "!"): .bang,
    UInt8(ascii: "?"): .question, UInt8(ascii: ":"): .colon, UInt8(ascii: "&"): .bitwiseAnd,
    UInt8(ascii: "|"): .bitwiseOr, UInt8(ascii: "~"): .bitwiseNot, UInt8(ascii: "^"): .bitwiseXor,
    UInt8(ascii: ";"): .semicolon, UInt8(ascii: "`"): .backtick, UInt8(ascii: "'"): .apostrophe,
  ]

  private static let doubles: [(String, TokenType)] = [
    ("==", .equalOp), ("!=", .notEqual), (">=", .greaterThanEq), ("<=", .lessThanEq),
    ("&&", .and), ("||", .or), ("...", .ellipsis), ("=>", .fatArrow),
  ]

  private static func isDigit(_ byte: UInt8?) -> Bool {
    guard let byte else { return false }
    return byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
  }

  private mutating func scanNormal(at index: Int) -> Int {
    let current = bytes[index]
    switch current {
    case UInt8(ascii: " "), UInt8(ascii: "\t"):
      var end = index
      while let next = byte(end), next == UInt8(ascii: " ") || next == UInt8(ascii: "\t") { end += 1 }
      return end
    case UInt8(ascii: "\n"):
      emit(.newline, index, index + 1)
      return index + 1
    case UInt8(ascii: "\r") where byte(index + 1) == UInt8(ascii: "\n"):
      emit(.newline, index, index + 2)
      return index + 2
    case UInt8(ascii: "#"):
      return scanLineComment(from: index, skip: 1)
    case UInt8(ascii: "/") where byte(index + 1) == UInt8(ascii: "/"):
      return scanLineComment(from: index, skip: 2)
    case UInt8(ascii: "/") where byte(index + 1) == UInt8(ascii: "*"):
      var end = index + 2
      while end + 1 < bytes.count, !(bytes[end] == UInt8(ascii: "*") && bytes[end + 1] == UInt8(ascii: "/")) { end += 1 }
      if end + 1 < bytes.count {
        emit(.comment, index, end + 2)
        return end + 2
      }
      // Unterminated: HCL's scanner falls back to the single characters.
      emit(.slash, index, index + 1)
      return index + 1
    case UInt8(ascii: "\""):
      emit(.oQuote, index, index + 1)
      states.append(.quoted)
      return index + 1
    case UInt8(ascii: "{"):
      emit(.oBrace, index, index + 1)
      braces += 1
      return index + 1
    case UInt8(ascii: "}"):
      return closeBrace(at: index, length: 1, stripping: false)
    case UInt8(ascii: "~") where byte(index + 1) == UInt8(ascii: "}"):
      return closeBrace(at: index, length: 2, stripping: true)
    case UInt8(ascii: "<") where byte(index + 1) == UInt8(ascii: "<"):
      if let end = heredocIntroducer(at: index) { return end }
    default:
      break
    }
    if Self.isDigit(current) { return scanNumber(at: index) }
    for (text, type) in Self.doubles where matches(index, text) {
      emit(type, index, index + text.utf8.count)
      return index + text.utf8.count
    }
    if let type = Self.singles[current] {
      emit(type, index, index + 1)
      return index + 1
    }
    if let (scalar, length) = scalar(at: index), scalar == "_" || scalar.properties.isIDStart {
      var end = index + length
      while let (next, nextLength) = self.scalar(at: end), next == "-" || next.properties.isIDContinue {
        end += nextLength
      }
      emit(.ident, index, end)
      return end
    }
    return emitUnknown(at: index)
  }

  private mutating func scanLineComment(from index: Int, skip: Int) -> Int {
    var end = index + skip
    while end < bytes.count, bytes[end] != UInt8(ascii: "\n") {
      if bytes[end] == UInt8(ascii: "\r"), byte(end + 1) == UInt8(ascii: "\n") { break }
      end += 1
    }
    if byte(end) == UInt8(ascii: "\n") {
      end += 1
    } else if byte(end) == UInt8(ascii: "\r") {
      end += 2
    }
    emit(.comment, index, end)
    return end
  }

  /// A number literal: digits, dots and exponents (`e`, `E`, optionally signed, then a digit),
  /// longest first, never ending with a dot (`1.2.3` is one token, and an invalid number).
  private mutating func scanNumber(at index: Int) -> Int {
    var end = index + 1
    var lastGood = end
    while end < bytes.count {
      let next = bytes[end]
      if Self.isDigit(next) {
        end += 1
        lastGood = end
      } else if next == UInt8(ascii: ".") {
        end += 1
      } else if next == UInt8(ascii: "e") || next == UInt8(ascii: "E") {
        var probe = end + 1
        if let sign = byte(probe), sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { probe += 1 }
        guard Self.isDigit(byte(probe)) else { break }
        end = probe + 1
        lastGood = end
      } else {
        break
      }
    }
    emit(.numberLit, index, lastGood)
    return lastGood
  }

  /// `<<EOT` or `<<-EOT` then a newline: opens a heredoc; nil when this is not one.
  private mutating func heredocIntroducer(at index: Int) -> Int? {
    var cursor = index + 2
    if byte(cursor) == UInt8(ascii: "-") { cursor += 1 }
    let markerStart = cursor
    guard let (first, firstLength) = scalar(at: cursor), first == "_" || first.properties.isIDStart else { return nil }
    cursor += firstLength
    while let (next, nextLength) = scalar(at: cursor), next == "-" || next.properties.isIDContinue { cursor += nextLength }
    let markerEnd = cursor
    if byte(cursor) == UInt8(ascii: "\r"), byte(cursor + 1) == UInt8(ascii: "\n") {
      cursor += 2
    } else if byte(cursor) == UInt8(ascii: "\n") {
      cursor += 1
    } else {
      return nil
    }
    emit(.oHeredoc, index, cursor)
    states.append(.heredoc(marker: bytes[markerStart..<markerEnd], startOfLine: true))
    return cursor
  }

  private mutating func closeBrace(at index: Int, length: Int, stripping: Bool) -> Int {
    if let top = returnBraces.last, top == braces {
      emit(.templateSeqEnd, index, index + length)
      braces -= 1
      returnBraces.removeLast()
      states.removeLast()
    } else {
      // A `~}` that closes no template sequence is still a sequence end, so the parser can
      // say that it was misused; a plain `}` is a closing brace.
      emit(stripping ? .templateSeqEnd : .cBrace, index, index + length)
      braces -= 1
    }
    return index + length
  }

  // MARK: - Template modes

  /// `${` or `%{` (with an optional `~`) at `index`: opens a sequence in normal mode.
  private mutating func templateSequence(at index: Int) -> Int? {
    guard let first = byte(index), first == UInt8(ascii: "$") || first == UInt8(ascii: "%"), byte(index + 1) == UInt8(ascii: "{") else {
      return nil
    }
    let end = byte(index + 2) == UInt8(ascii: "~") ? index + 3 : index + 2
    emit(first == UInt8(ascii: "$") ? .templateInterp : .templateControl, index, end)
    braces += 1
    returnBraces.append(braces)
    if case .heredoc(let marker, _) = states.last {
      states[states.count - 1] = .heredoc(marker: marker, startOfLine: false)
    }
    states.append(.normal)
    return end
  }

  /// A `$` or `%` that does not open a sequence: the escape `$${` / `%%{` (with an optional
  /// `~`), or the single character. Returns the end of that literal piece.
  private func lonePercentOrDollar(at index: Int) -> Int {
    let first = bytes[index]
    if byte(index + 1) == first, byte(index + 2) == UInt8(ascii: "{") {
      return byte(index + 3) == UInt8(ascii: "~") ? index + 4 : index + 3
    }
    return index + 1
  }

  private mutating func scanQuoted(at index: Int) -> Int {
    if let end = templateSequence(at: index) { return end }
    let current = bytes[index]
    switch current {
    case UInt8(ascii: "\""):
      emit(.cQuote, index, index + 1)
      states.removeLast()
      return index + 1
    case UInt8(ascii: "\n"), UInt8(ascii: "\r"):
      var end = index
      while let next = byte(end), next == UInt8(ascii: "\n") || next == UInt8(ascii: "\r") { end += 1 }
      emit(.quotedNewline, index, end)
      return end
    case UInt8(ascii: "$"), UInt8(ascii: "%"):
      let end = lonePercentOrDollar(at: index)
      emit(.quotedLit, index, end)
      return end
    default:
      break
    }
    // A run of literal characters, a backslash taking the character after it along.
    var end = index
    while end < bytes.count {
      let next = bytes[end]
      if next == UInt8(ascii: "\"") || next == UInt8(ascii: "$") || next == UInt8(ascii: "%")
        || next == UInt8(ascii: "\n") || next == UInt8(ascii: "\r")
      {
        break
      }
      if next == UInt8(ascii: "\\") {
        guard let following = byte(end + 1), following != UInt8(ascii: "\n"), following != UInt8(ascii: "\r"),
          let (_, length) = scalar(at: end + 1)
        else { break }
        end += 1 + length
        continue
      }
      guard let (_, length) = scalar(at: end) else { break }
      end += length
    }
    if end == index { return emitUnknown(at: index) }
    emit(.quotedLit, index, end)
    return end
  }

  private mutating func scanHeredoc(at index: Int, marker: ArraySlice<UInt8>, startOfLine: Bool) -> Int {
    if let end = templateSequence(at: index) { return end }
    if bytes[index] == UInt8(ascii: "$") || bytes[index] == UInt8(ascii: "%") {
      let end = lonePercentOrDollar(at: index)
      emit(.stringLit, index, end)
      states[states.count - 1] = .heredoc(marker: marker, startOfLine: false)
      return end
    }
    var end = index
    while end < bytes.count {
      let next = bytes[end]
      if next == UInt8(ascii: "$") || next == UInt8(ascii: "%") || next == UInt8(ascii: "\n") { break }
      if next == UInt8(ascii: "\r"), byte(end + 1) == UInt8(ascii: "\n") { break }
      if let (_, length) = scalar(at: end) {
        end += length
      } else {
        break
      }
    }
    let newlineLength = byte(end) == UInt8(ascii: "\n") ? 1 : (byte(end) == UInt8(ascii: "\r") ? 2 : 0)
    if newlineLength > 0 {
      let lineEnd = end + newlineLength
      if startOfLine, Self.trimmed(bytes[index..<end]).elementsEqual(marker) {
        // The closing marker, then its newline as a token of its own (it ends the attribute).
        emit(.cHeredoc, index, end)
        emit(.newline, end, lineEnd)
        states.removeLast()
        return lineEnd
      }
      emit(.stringLit, index, lineEnd)
      states[states.count - 1] = .heredoc(marker: marker, startOfLine: true)
      return lineEnd
    }
    if end == index { return emitBadByte(at: index) }
    emit(.stringLit, index, end)
    states[states.count - 1] = .heredoc(marker: marker, startOfLine: false)
    return end
  }

  private mutating func emitBadByte(at index: Int) -> Int {
    emit(.badUTF8, index, index + 1)
    return index + 1
  }

  private mutating func scanBare(at index: Int) -> Int {
    if let end = templateSequence(at: index) { return end }
    if bytes[index] == UInt8(ascii: "$") || bytes[index] == UInt8(ascii: "%") {
      let end = lonePercentOrDollar(at: index)
      emit(.stringLit, index, end)
      return end
    }
    var end = index
    while end < bytes.count {
      let next = bytes[end]
      if next == UInt8(ascii: "$") || next == UInt8(ascii: "%") { break }
      if next == UInt8(ascii: "\n") {
        end += 1
        break
      }
      if next == UInt8(ascii: "\r"), byte(end + 1) == UInt8(ascii: "\n") {
        end += 2
        break
      }
      if let (_, length) = scalar(at: end) {
        end += length
      } else {
        break
      }
    }
    if end == index { return emitBadByte(at: index) }
    emit(.stringLit, index, end)
    return end
  }

  /// Bytes without leading and trailing white space (ASCII and Unicode spaces).
  static func trimmed(_ slice: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
    let text = String(decoding: slice, as: UTF8.self)
    let trimmedText = text.unicodeScalars.drop(while: { $0.properties.isWhitespace })
    let scalars = Array(trimmedText)
    var endIndex = scalars.count
    while endIndex > 0, scalars[endIndex - 1].properties.isWhitespace { endIndex -= 1 }
    var out: [UInt8] = []
    for scalar in scalars[0..<endIndex] { out.append(contentsOf: Array(String(scalar).utf8)) }
    return out[...]
  }
}
