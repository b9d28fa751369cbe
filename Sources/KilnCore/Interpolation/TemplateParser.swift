import Foundation

extension InterpolationTemplate {
  /// How deeply `{{if}}`/`{{with}}`/`{{range}}` blocks, `{{else if}}` branches and parentheses
  /// may nest in one string. Real templates use a handful of levels; the bound keeps every
  /// recursive walk over the tree (parsing, evaluating, releasing it) far from the end of
  /// the stack, whatever the input.
  public static let maximumNesting = 100

  /// Parses `text`. Throws the first syntax error with its byte offset.
  public static func parse(_ text: String) throws(InterpolationError) -> InterpolationTemplate {
    var parser = Parser(Array(text.utf8))
    let (nodes, terminator) = try parser.parseList()
    if let terminator {
      throw InterpolationError("unexpected {{\(terminator.word)}} without a matching {{if}}, {{with}} or {{range}}", at: terminator.offset)
    }
    return InterpolationTemplate(source: text, nodes: nodes)
  }

  private struct Parser {
    let bytes: [UInt8]
    var index = 0
    /// Blocks and parentheses open around `index`.
    var depth = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    struct Terminator {
      var word: String // "end" or "else"
      var offset: Int
      var elseIf: (BlockKind, Pipeline)?
    }

    /// Parses nodes until the end of input or an `{{end}}`/`{{else}}`, which it returns.
    mutating func parseList() throws(InterpolationError) -> ([Node], Terminator?) {
      var nodes: [Node] = []
      var pendingText: [UInt8] = []
      func flush() {
        if !pendingText.isEmpty {
          nodes.append(.text(String(decoding: pendingText, as: UTF8.self)))
          pendingText.removeAll()
        }
      }
      while index < bytes.count {
        if bytes[index] == UInt8(ascii: "{"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "{") {
          let actionStart = index
          index += 2
          // `{{- ` trims the white space before the action.
          if index + 1 < bytes.count, bytes[index] == UInt8(ascii: "-"), isSpace(bytes[index + 1]) {
            while let last = pendingText.last, isSpace(last) { pendingText.removeLast() }
            index += 1
          }
          flush()
          skipSpaces()
          // Comments.
          if startsWith("/*") {
            guard let close = find("*/", from: index + 2) else {
              throw InterpolationError("unclosed comment", at: actionStart)
            }
            index = close + 2
            try finishAction(actionStart)
            continue
          }
          if let keyword = peekWord() {
            switch keyword {
            case "end":
              index += 3
              try finishAction(actionStart)
              return (nodes, Terminator(word: "end", offset: actionStart))
            case "else":
              index += 4
              skipSpaces()
              // Go 1.19, and so Packer, knows `{{else if}}` only (`{{else with}}` came in Go 1.23).
              if let next = peekWord(), next == "if" {
                index += next.count
                let pipeline = try parsePipeline(actionStart: actionStart)
                return (nodes, Terminator(word: "else", offset: actionStart, elseIf: (BlockKind(rawValue: next)!, pipeline)))
              }
              try finishAction(actionStart)
              return (nodes, Terminator(word: "else", offset: actionStart))
            case "if", "with", "range":
              index += keyword.count
              let kind = BlockKind(rawValue: keyword)!
              let pipeline = try parsePipeline(actionStart: actionStart)
              nodes.append(try parseBlock(kind, pipeline, start: actionStart))
              continue
            case "define", "template", "block", "break", "continue":
              throw InterpolationError("{{\(keyword)}} is not supported in Packer templates", at: index)
            default: break
            }
          }
          let pipeline = try parsePipeline(actionStart: actionStart)
          nodes.append(.action(pipeline))
        } else {
          pendingText.append(bytes[index])
          index += 1
        }
      }
      flush()
      return (nodes, nil)
    }

    /// Enters one more level of nesting at `offset`; the caller leaves it with `depth -= 1`.
    mutating func enterNesting(at offset: Int) throws(InterpolationError) {
      guard depth < InterpolationTemplate.maximumNesting else {
        throw InterpolationError(
          "nesting deeper than \(InterpolationTemplate.maximumNesting) levels of {{if}}/{{with}}/{{range}}, {{else if}} and parentheses", at: offset)
      }
      depth += 1
    }

    mutating func parseBlock(_ kind: BlockKind, _ pipeline: Pipeline, start: Int) throws(InterpolationError) -> Node {
      try enterNesting(at: start)
      defer { depth -= 1 }
      let (body, terminator) = try parseList()
      guard let terminator else {
        throw InterpolationError("{{\(kind.rawValue)}} has no matching {{end}}", at: start)
      }
      if terminator.word == "end" {
        return .conditional(kind: kind, pipeline, then: body, otherwise: [])
      }
      if let (elseKind, elsePipeline) = terminator.elseIf {
        // `{{else if x}}` is an `{{if}}` nested in the else branch, sharing the outer {{end}}.
        let nested = try parseBlock(elseKind, elsePipeline, start: terminator.offset)
        return .conditional(kind: kind, pipeline, then: body, otherwise: [nested])
      }
      let (otherwise, end) = try parseList()
      guard let end, end.word == "end" else {
        throw InterpolationError("{{else}} has no matching {{end}}", at: terminator.offset)
      }
      return .conditional(kind: kind, pipeline, then: body, otherwise: otherwise)
    }

    /// Expects optional spaces, an optional `-` trim marker and `}}`.
    mutating func finishAction(_ actionStart: Int) throws(InterpolationError) {
      skipSpaces()
      if startsWith("-}}") {
        // ` -}}` trims the white space after the action.
        index += 3
        skipSpaces()
        return
      }
      if startsWith("}}") {
        index += 2
        return
      }
      if index >= bytes.count { throw InterpolationError("unclosed action: missing }}", at: actionStart) }
      throw InterpolationError("unexpected \(describe()) in action; expected }}", at: index)
    }

    /// Parses `cmd | cmd | ...` up to and including the closing `}}`.
    mutating func parsePipeline(actionStart: Int) throws(InterpolationError) -> Pipeline {
      let pipeline = try parseCommands(until: .closeAction, actionStart: actionStart)
      return pipeline
    }

    enum Closer { case closeAction, closeParen }

    mutating func parseCommands(until closer: Closer, actionStart: Int) throws(InterpolationError) -> Pipeline {
      var commands: [Command] = []
      var operands: [Operand] = []
      var commandStart = index
      let pipelineStart = index
      while true {
        skipSpaces()
        guard index < bytes.count else {
          throw InterpolationError(closer == .closeAction ? "unclosed action: missing }}" : "unclosed '('", at: actionStart)
        }
        let byte = bytes[index]
        if closer == .closeAction, startsWith("}}") || startsWith("-}}") {
          guard !operands.isEmpty else {
            throw InterpolationError(commands.isEmpty ? "empty action {{}}" : "missing command after '|'", at: commands.isEmpty ? actionStart : index)
          }
          try finishAction(actionStart)
          commands.append(Command(operands: operands, offset: commandStart))
          let text = String(decoding: bytes[actionStart..<index], as: UTF8.self)
          return Pipeline(commands: commands, offset: pipelineStart, source: text)
        }
        if closer == .closeParen, byte == UInt8(ascii: ")") {
          guard !operands.isEmpty else { throw InterpolationError("empty parenthesised expression", at: index) }
          commands.append(Command(operands: operands, offset: commandStart))
          index += 1
          let text = String(decoding: bytes[pipelineStart..<index - 1], as: UTF8.self)
          return Pipeline(commands: commands, offset: pipelineStart, source: "{{" + text + "}}")
        }
        if byte == UInt8(ascii: "|") {
          guard !operands.isEmpty else { throw InterpolationError("missing command before '|'", at: index) }
          commands.append(Command(operands: operands, offset: commandStart))
          operands = []
          index += 1
          commandStart = index
          continue
        }
        if byte == UInt8(ascii: ")") { throw InterpolationError("unexpected ')'", at: index) }
        if closer == .closeParen, startsWith("}}") {
          throw InterpolationError("unclosed '(': missing ')'", at: pipelineStart - 1)
        }
        if byte == UInt8(ascii: "}") { throw InterpolationError("unexpected '}' in action; expected }}", at: index) }
        let operand = try parseOperand(actionStart: actionStart)
        if operands.isEmpty, case .null = operand {
          throw InterpolationError("nil is not a command", at: operand.offset)
        }
        operands.append(operand)
        // Operands must be separated by space (Go: "missing space?").
        if index < bytes.count, !isSpace(bytes[index]), !startsWith("}}"), !startsWith("|"), bytes[index] != UInt8(ascii: ")"), !startsWith("-}}") {
          throw InterpolationError("unexpected \(describe()) after an operand; missing space?", at: index)
        }
      }
    }

    mutating func parseOperand(actionStart: Int) throws(InterpolationError) -> Operand {
      let start = index
      let byte = bytes[index]
      switch byte {
      case UInt8(ascii: "`"):
        guard let close = bytes[(index + 1)...].firstIndex(of: UInt8(ascii: "`")) else {
          throw InterpolationError("unterminated raw string (missing closing backtick)", at: start)
        }
        let text = String(decoding: bytes[(index + 1)..<close], as: UTF8.self)
        index = close + 1
        return .string(text, offset: start)
      case UInt8(ascii: "\""):
        return .string(try parseQuoted(), offset: start)
      case UInt8(ascii: "("):
        try enterNesting(at: start)
        defer { depth -= 1 }
        index += 1
        let inner = try parseCommands(until: .closeParen, actionStart: actionStart)
        return .pipeline(inner)
      case UInt8(ascii: "."):
        index += 1
        var path: [String] = []
        while index < bytes.count, isIdentifierStart(bytes[index]) {
          let nameStart = index
          while index < bytes.count, isIdentifierByte(bytes[index]) { index += 1 }
          path.append(String(decoding: bytes[nameStart..<index], as: UTF8.self))
          if index < bytes.count, bytes[index] == UInt8(ascii: "."), index + 1 < bytes.count, isIdentifierStart(bytes[index + 1]) {
            index += 1
          } else {
            break
          }
        }
        return .field(path, offset: start)
      case UInt8(ascii: "$"):
        throw InterpolationError("template variables ($name) are not supported in Packer templates", at: start)
      case UInt8(ascii: "'"):
        throw InterpolationError("character constants are not supported; use a backtick or double-quoted string", at: start)
      case UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "0")...UInt8(ascii: "9"):
        return try parseNumber()
      default:
        guard isIdentifierStart(byte) else {
          throw InterpolationError("unexpected \(describe()) in action", at: start)
        }
        while index < bytes.count, isIdentifierByte(bytes[index]) { index += 1 }
        let word = String(decoding: bytes[start..<index], as: UTF8.self)
        switch word {
        case "true": return .bool(true, offset: start)
        case "false": return .bool(false, offset: start)
        case "nil": return .null(offset: start)
        default:
          guard let function = InterpolationFunction(rawValue: word) else {
            let hint = Suggestions.closest(to: word, in: InterpolationFunction.names).map { "; did you mean \"\($0)\"?" } ?? ""
            throw InterpolationError("function \"\(word)\" not defined\(hint)", at: start)
          }
          return .function(function, offset: start)
        }
      }
    }

    mutating func parseQuoted() throws(InterpolationError) -> String {
      let start = index
      index += 1
      var out: [UInt8] = []
      while true {
        guard index < bytes.count else { throw InterpolationError("unterminated quoted string", at: start) }
        let byte = bytes[index]
        if byte == UInt8(ascii: "\"") {
          index += 1
          return String(decoding: out, as: UTF8.self)
        }
        if byte == 0x0A { throw InterpolationError("unterminated quoted string", at: start) }
        if byte != UInt8(ascii: "\\") {
          out.append(byte)
          index += 1
          continue
        }
        index += 1
        guard index < bytes.count else { throw InterpolationError("unterminated quoted string", at: start) }
        let escape = bytes[index]
        index += 1
        switch escape {
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "a"): out.append(0x07)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "v"): out.append(0x0B)
        case UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "'"): out.append(escape)
        case UInt8(ascii: "x"), UInt8(ascii: "u"), UInt8(ascii: "U"):
          let count = escape == UInt8(ascii: "x") ? 2 : escape == UInt8(ascii: "u") ? 4 : 8
          guard index + count <= bytes.count,
            let value = UInt32(String(decoding: bytes[index..<index + count], as: UTF8.self), radix: 16)
          else { throw InterpolationError("invalid escape in quoted string", at: index - 2) }
          index += count
          if escape == UInt8(ascii: "x") {
            out.append(UInt8(value))
          } else {
            guard let scalar = Unicode.Scalar(value) else { throw InterpolationError("invalid Unicode escape", at: index - count - 2) }
            out.append(contentsOf: Array(String(Character(scalar)).utf8))
          }
        default:
          throw InterpolationError("unknown escape sequence '\\\(Character(Unicode.Scalar(escape)))' in quoted string", at: index - 2)
        }
      }
    }

    /// Go's number syntax: decimal, `0x`/`0o`/`0b`/leading-`0` octal integers, `_` between
    /// digits, and floats with an exponent.
    mutating func parseNumber() throws(InterpolationError) -> Operand {
      let start = index
      if bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") { index += 1 }
      while index < bytes.count {
        let byte = bytes[index]
        let previous = bytes[index - 1] | 0x20
        let isExponentSign =
          (byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+"))
          && (previous == UInt8(ascii: "e") || previous == UInt8(ascii: "p"))
        guard isIdentifierByte(byte) || byte == UInt8(ascii: ".") || isExponentSign else { break }
        index += 1
      }
      let text = String(decoding: bytes[start..<index], as: UTF8.self)
      if let value = Self.integer(text) { return .integer(value, offset: start) }
      let plain = text.replacingOccurrences(of: "_", with: "")
      if plain.allSatisfy({ "0123456789.eE+-".contains($0) }), let value = Double(plain) {
        return .float(value, offset: start)
      }
      throw InterpolationError("bad number syntax: \"\(text)\"", at: start)
    }

    /// `strconv.ParseInt(text, 0, 64)`.
    static func integer(_ text: String) -> Int? {
      var digits = Substring(text)
      var negative = false
      if let sign = digits.first, sign == "-" || sign == "+" {
        negative = sign == "-"
        digits = digits.dropFirst()
      }
      var radix = 10
      let lower = digits.lowercased()
      if lower.hasPrefix("0x") {
        radix = 16
        digits = digits.dropFirst(2)
      } else if lower.hasPrefix("0o") {
        radix = 8
        digits = digits.dropFirst(2)
      } else if lower.hasPrefix("0b") {
        radix = 2
        digits = digits.dropFirst(2)
      } else if digits.count > 1, digits.hasPrefix("0") {
        radix = 8
        digits = digits.dropFirst()
      }
      // `_` only between digits (or after a base prefix).
      if digits.hasPrefix("_") && radix == 10 || digits.hasSuffix("_") || digits.contains("__") { return nil }
      let clean = digits.replacingOccurrences(of: "_", with: "")
      guard !clean.isEmpty, clean.allSatisfy(\.isHexDigit), let magnitude = Int(clean, radix: radix) else { return nil }
      return negative ? -magnitude : magnitude
    }

    // MARK: helpers

    func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }
    func isIdentifierStart(_ byte: UInt8) -> Bool {
      (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
        || byte == UInt8(ascii: "_") || byte >= 0x80
    }
    func isIdentifierByte(_ byte: UInt8) -> Bool {
      isIdentifierStart(byte) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
    }
    mutating func skipSpaces() { while index < bytes.count, isSpace(bytes[index]) { index += 1 } }
    func startsWith(_ text: String) -> Bool {
      let needle = Array(text.utf8)
      return bytes.count - index >= needle.count && Array(bytes[index..<index + needle.count]) == needle
    }
    func find(_ text: String, from: Int) -> Int? {
      let needle = Array(text.utf8)
      var i = from
      while i + needle.count <= bytes.count {
        if Array(bytes[i..<i + needle.count]) == needle { return i }
        i += 1
      }
      return nil
    }
    func peekWord() -> String? {
      var end = index
      while end < bytes.count, isIdentifierByte(bytes[end]) { end += 1 }
      guard end > index else { return nil }
      // A keyword must be followed by a space or the end of the action.
      let word = String(decoding: bytes[index..<end], as: UTF8.self)
      guard ["if", "else", "end", "with", "range", "define", "template", "block", "break", "continue"].contains(word) else { return nil }
      return word
    }
    func describe() -> String {
      guard index < bytes.count else { return "end of string" }
      let byte = bytes[index]
      return byte >= 0x20 && byte < 0x7F ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
    }
  }
}
