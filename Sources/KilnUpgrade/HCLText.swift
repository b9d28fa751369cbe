import KilnCore

/// KilnCore's JSON node (KilnHCL has one of its own, for HCL's JSON syntax).
typealias JSONNode = KilnCore.JSONNode

/// HCL source text for values, written as `hclwrite` writes cty values (`TokensForValue`):
/// strings quoted with HCL's escapes (`${` and `%{` doubled so they stay text), numbers as
/// their shortest decimal without an exponent, lists on one line, objects one attribute a
/// line with keys that are not identifiers quoted. Layout is left to the formatter.
enum HCLText {
  /// The body of a quoted string (without the quotes) for `text`.
  static func escaped(_ text: String) -> String {
    var out = ""
    let scalars = Array(text.unicodeScalars)
    for (index, scalar) in scalars.enumerated() {
      switch scalar {
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "$", "%":
        out.unicodeScalars.append(scalar)
        if index + 1 < scalars.count, scalars[index + 1] == "{" { out.unicodeScalars.append(scalar) }
      default:
        if isPrintable(scalar) {
          out.unicodeScalars.append(scalar)
        } else {
          let hex = String(scalar.value, radix: 16)
          out += scalar.value < 0x10000 ? "\\u" + pad(hex, 4) : "\\U" + pad(hex, 8)
        }
      }
    }
    return out
  }

  static func quoted(_ text: String) -> String { "\"" + escaped(text) + "\"" }

  private static func pad(_ hex: String, _ width: Int) -> String { String(repeating: "0", count: max(0, width - hex.count)) + hex }

  /// Go's `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space.
  private static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
    if scalar == " " { return true }
    switch scalar.properties.generalCategory {
    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter, .nonspacingMark, .spacingMark,
      .enclosingMark, .decimalNumber, .letterNumber, .otherNumber, .connectorPunctuation, .dashPunctuation, .openPunctuation,
      .closePunctuation, .initialPunctuation, .finalPunctuation, .otherPunctuation, .mathSymbol, .currencySymbol, .modifierSymbol,
      .otherSymbol:
      return true
    default:
      return false
    }
  }

  /// hclsyntax's `ValidIdentifier`: an ID_Start (or `_`) then ID_Continue or `-`.
  static func isIdentifier(_ text: String) -> Bool {
    guard let first = text.unicodeScalars.first, first == "_" || first.properties.isIDStart else { return false }
    return text.unicodeScalars.dropFirst().allSatisfy { $0 == "-" || $0.properties.isIDContinue }
  }

  /// An object key: bare when it is an identifier, quoted otherwise.
  static func key(_ name: String) -> String { isIdentifier(name) ? name : quoted(name) }

  /// A JSON number as Packer writes it: read as a float64 (Go's JSON decoding), then
  /// `big.Float.Text('f', -1)`: the shortest decimal that reads back, with no exponent.
  static func number(_ text: String) -> String {
    guard let value = Double(text), value.isFinite else { return text }
    if value == 0 { return "0" }
    let shortest = "\(value.magnitude)"
    var digits: String
    var exponent = 0
    if let e = shortest.firstIndex(where: { $0 == "e" || $0 == "E" }) {
      digits = String(shortest[..<e])
      exponent = Int(shortest[shortest.index(after: e)...]) ?? 0
    } else {
      digits = shortest
    }
    // digits is "I.F" or "I"; make it an integer string and a power of ten.
    var integer = digits
    var fraction = ""
    if let dot = digits.firstIndex(of: ".") {
      integer = String(digits[..<dot])
      fraction = String(digits[digits.index(after: dot)...])
    }
    var all = integer + fraction
    var pointAt = integer.count + exponent
    while all.hasPrefix("0"), all.count > 1 {
      all.removeFirst()
      pointAt -= 1
    }
    while all.hasSuffix("0"), all.count > 1, all.count > pointAt { all.removeLast() }
    let sign = value < 0 ? "-" : ""
    if pointAt <= 0 { return sign + "0." + String(repeating: "0", count: -pointAt) + all }
    if pointAt >= all.count { return sign + all + String(repeating: "0", count: pointAt - all.count) }
    let split = all.index(all.startIndex, offsetBy: pointAt)
    return sign + all[..<split] + "." + all[split...]
  }

  /// A whole JSON value as an HCL expression, strings through `string` (which translates
  /// their `{{ }}` calls).
  static func value(_ node: JSONNode, string: (JSONNode, String) -> String) -> String {
    switch node.value {
    case .null: return "null"
    case .bool(let flag): return flag ? "true" : "false"
    case .number(let text): return number(text)
    case .string(let text): return string(node, text)
    case .array(let elements): return "[" + elements.map { value($0, string: string) }.joined(separator: ", ") + "]"
    case .object(let members):
      if members.isEmpty { return "{}" }
      let lines = sortedMembers(members).map { key($0.key) + " = " + value($0.value, string: string) + "\n" }
      return "{\n" + lines.joined() + "}"
    }
  }

  /// Members in Go's `sort.Strings` order (bytes), as Packer walks a decoded map.
  static func sortedMembers(_ members: [JSONMember]) -> [JSONMember] {
    members.sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }
  }
}
