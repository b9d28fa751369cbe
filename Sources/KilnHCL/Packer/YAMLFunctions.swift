import Foundation
import Yams

/// `yamldecode` and `yamlencode` as go-cty-yaml does them: YAML 1.1's implicit types (so
/// `yes`/`on` are true), mappings as objects, sequences as tuples; encoding with quoted
/// strings, literal blocks for multi-line ones and keys in order.
enum YAMLFunctions {
  static let maximumNodes = 1 << 20

  static func decode(_ text: String, _ limits: EvalLimits) throws(HCLFunctionError) -> HCLValue {
    var nodes: [Node] = []
    do {
      let parser = try Yams.Parser(yaml: text, resolver: .basic)
      while nodes.count < 2, let node = try parser.nextRoot() { nodes.append(node) }
    } catch let error as YamlError {
      throw .general(describe(error))
    } catch {
      throw .general("\(error)")
    }
    guard let first = nodes.first else { throw .general("on line 1, column 1: missing start of document") }
    guard nodes.count == 1 else { throw .general("unexpected extra content after value") }
    var budget = min(maximumNodes, limits.elements)
    return try value(first, &budget)
  }

  private static func describe(_ error: YamlError) -> String {
    switch error {
    case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _):
      let prefix = context.map { "\($0.text) " } ?? ""
      return "on line \(mark.line), column \(mark.column): \(prefix)\(problem)"
    default:
      return "\(error)"
    }
  }

  private static func value(_ node: Node, _ budget: inout Int) throws(HCLFunctionError) -> HCLValue {
    budget -= 1
    guard budget >= 0 else { throw .general("the YAML document has too many nodes") }
    switch node {
    case .scalar(let scalar):
      return try self.scalar(scalar)
    case .sequence(let sequence):
      var elements: [HCLValue] = []
      for element in sequence { elements.append(try value(element, &budget)) }
      return .tuple(elements)
    case .mapping(let mapping):
      var attributes: [String: HCLValue] = [:]
      for (key, element) in mapping {
        let keyValue = try value(key, &budget)
        let name: String
        switch keyValue {
        case .string(let s): name = s
        case .number(let n): name = n.description
        case .bool(let b): name = b ? "true" : "false"
        case .null: name = "null"
        default: throw .general("only string, number and bool keys are supported in YAML mappings")
        }
        attributes[name] = try value(element, &budget)
      }
      return .object(attributes)
    case .alias:
      throw .general("YAML aliases are not supported")
    }
  }

  static let trueWords: Set<String> = ["y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"]
  static let falseWords: Set<String> = ["n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"]
  static let nullWords: Set<String> = ["", "~", "null", "Null", "NULL"]

  private static func scalar(_ scalar: Node.Scalar) throws(HCLFunctionError) -> HCLValue {
    let text = scalar.string
    let tag = scalar.tag.rawValue
    // Quoted and block scalars are strings, whatever their tag (as go-cty-yaml reads them).
    guard scalar.style == .plain else { return .normalized(text) }
    switch tag {
    case "tag:yaml.org,2002:str", "!": return .normalized(text)
    case "tag:yaml.org,2002:null": return .dynamicNull
    case "tag:yaml.org,2002:bool":
      if trueWords.contains(text) { return .bool(true) }
      if falseWords.contains(text) { return .bool(false) }
      throw .general("cannot decode \(GoQuote.quote(text)) as !!bool")
    case "tag:yaml.org,2002:int", "tag:yaml.org,2002:float":
      guard let number = HCLNumber(parsing: text) else { throw .general("cannot decode \(GoQuote.quote(text)) as a number") }
      return .number(number)
    // An untagged scalar (Yams leaves its tag implicit, ""): YAML 1.1's rules below, as
    // go-yaml's resolver (Yams' own follows YAML 1.2's).
    case Tag.Name.implicit.rawValue: break
    default: throw .general("unsupported tag \(GoQuote.quote(tag)) on \(GoQuote.quote(text))")
    }
    if nullWords.contains(text) { return .dynamicNull }
    if trueWords.contains(text) { return .bool(true) }
    if falseWords.contains(text) { return .bool(false) }
    if looksNumeric(text), let number = HCLNumber(parsing: text.replacingOccurrences(of: "_", with: "")) { return .number(number) }
    return .normalized(text)
  }

  /// Decimal integers and floats (an optional sign, digits, a point, an exponent).
  private static func looksNumeric(_ text: String) -> Bool {
    let bytes = Array(text.utf8)
    var i = 0
    if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
    var digits = 0
    while i < bytes.count, bytes[i] >= 0x30 && bytes[i] <= 0x39 || bytes[i] == UInt8(ascii: "_") {
      digits += 1
      i += 1
    }
    if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
      i += 1
      while i < bytes.count, bytes[i] >= 0x30 && bytes[i] <= 0x39 {
        digits += 1
        i += 1
      }
    }
    guard digits > 0 else { return false }
    if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
      i += 1
      if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
      let start = i
      while i < bytes.count, bytes[i] >= 0x30 && bytes[i] <= 0x39 { i += 1 }
      guard i > start else { return false }
    }
    return i == bytes.count
  }

  // MARK: - Encoding

  static func encode(_ value: HCLValue) throws(HCLFunctionError) -> HCLValue {
    guard value.isWhollyKnown else { return .unknown(.string) }
    var out = ""
    switch value {
    case .list, .set, .tuple, .map, .object:
      if (value.length ?? 0) == 0 {
        out = flow(value) + "\n"
      } else {
        block(value, indent: 0, into: &out)
      }
    case .string:
      out = scalarText(value, indent: 0, column: 0) + "\n"
    default:
      // libyaml ends a document whose only content is a plain scalar with "...".
      out = scalarText(value, indent: 0, column: 0) + "\n...\n"
    }
    return .string(out)
  }

  private static func flow(_ value: HCLValue) -> String {
    switch value {
    case .map, .object: "{}"
    default: "[]"
    }
  }

  private static func block(_ value: HCLValue, indent: Int, into out: inout String) {
    let pad = String(repeating: " ", count: indent)
    switch value {
    case .list(let elements, _), .set(let elements, _), .tuple(let elements):
      for element in elements {
        out += pad + "- "
        nested(element, indent: indent + 2, column: indent + 2, inSequence: true, into: &out)
      }
    case .map(let attributes, _), .object(let attributes):
      for key in HCLValue.sortedKeys(attributes) {
        let keyText = quoted(key, indent: indent, column: indent)
        out += pad + keyText + ":"
        let element = attributes[key] ?? .dynamicNull
        switch element {
        case .list, .set, .tuple:
          if (element.length ?? 0) == 0 {
            out += " []\n"
          } else {
            out += "\n"
            block(element, indent: indent, into: &out)
          }
        case .map, .object:
          if (element.length ?? 0) == 0 {
            out += " {}\n"
          } else {
            out += "\n"
            block(element, indent: indent + 2, into: &out)
          }
        default:
          out += " " + scalarText(element, indent: indent + 2, column: indent + keyText.count + 2) + "\n"
        }
      }
    default:
      out += pad + scalarText(value, indent: indent, column: indent) + "\n"
    }
  }

  /// An element after "- ": a nested collection continues on the same line.
  private static func nested(_ value: HCLValue, indent: Int, column: Int, inSequence: Bool, into out: inout String) {
    switch value {
    case .list, .set, .tuple, .map, .object:
      if (value.length ?? 0) == 0 {
        out += flow(value) + "\n"
        return
      }
      var inner = ""
      block(value, indent: indent, into: &inner)
      out += String(inner.dropFirst(indent))
    default:
      out += scalarText(value, indent: indent, column: column) + "\n"
    }
  }

  private static func scalarText(_ value: HCLValue, indent: Int, column: Int) -> String {
    switch value {
    case .null, .unknown: return "null"
    case .bool(let b): return b ? "true" : "false"
    case .number(let n): return n.description
    case .string(let s):
      if s.contains("\n") { return literal(s, indent: indent) }
      return quoted(s, indent: indent, column: column)
    default: return "null"
    }
  }

  /// A literal block (`|-`, `|`, `|+` for the trailing newlines), indented under its key.
  private static func literal(_ text: String, indent: Int) -> String {
    let pad = String(repeating: " ", count: max(indent, 2))
    var body = text
    var chomp = "-"
    if body.hasSuffix("\n") {
      chomp = body.hasSuffix("\n\n") ? "+" : ""
    }
    if chomp == "" { body.removeLast() }
    if chomp == "+" { body.removeLast() }
    let indicator = body.hasPrefix(" ") ? "2" : ""
    let lines = body.split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "" : pad + $0 }
    return "|" + indicator + chomp + "\n" + lines.joined(separator: "\n")
  }

  /// A double-quoted scalar, folded at spaces past column 80 as libyaml's emitter does.
  static func quoted(_ text: String, indent: Int, column start: Int) -> String {
    var out = "\""
    var column = start + 1
    let scalars = Array(text.unicodeScalars)
    var previousSpace = false
    for (index, scalar) in scalars.enumerated() {
      if scalar == " ", !previousSpace, column > 80, index != 0, index != scalars.count - 1 {
        out += "\n" + String(repeating: " ", count: indent)
        column = indent
        if index + 1 < scalars.count, scalars[index + 1] == " " {
          out += "\\"
          column += 1
        }
        previousSpace = true
        continue
      }
      let piece: String
      switch scalar {
      case "\"": piece = "\\\""
      case "\\": piece = "\\\\"
      case "\t": piece = "\\t"
      case "\r": piece = "\\r"
      case "\u{0}": piece = "\\0"
      case "\u{07}": piece = "\\a"
      case "\u{08}": piece = "\\b"
      case "\u{0B}": piece = "\\v"
      case "\u{0C}": piece = "\\f"
      case "\u{1B}": piece = "\\e"
      case "\u{85}": piece = "\\N"
      case "\u{A0}": piece = "\\_"
      case "\u{2028}": piece = "\\L"
      case "\u{2029}": piece = "\\P"
      default:
        if scalar.value < 0x20 || scalar.value == 0x7F || scalar.value == 0xFEFF {
          let hex = String(scalar.value, radix: 16, uppercase: true)
          piece = scalar.value <= 0xFF ? "\\x" + String(repeating: "0", count: 2 - hex.count) + hex : "\\u" + hex
        } else {
          piece = String(scalar)
        }
      }
      out += piece
      column += piece.unicodeScalars.count
      previousSpace = scalar == " "
    }
    return out + "\""
  }
}
