import Foundation

/// The parts of Go's `fmt` and text/template escapers that templates reach: `printf`,
/// `print`, `html`, `js` and `urlquery` answer as Go's do.
public enum GoFormat {
  /// A value as `%v` prints it (nil is `<nil>`, unlike an action's `<no value>`).
  static func value(_ value: TemplateValue) -> String {
    switch value {
    case .null: "<nil>"
    case .list(let items): "[" + items.map(Self.value).joined(separator: " ") + "]"
    case .map(let dict): "map[" + dict.keys.sorted().map { "\($0):\(Self.value(dict[$0]!))" }.joined(separator: " ") + "]"
    default: value.rendered
    }
  }

  /// Go's type names for the values templates hold, as `%!d(string=x)` shows them.
  static func typeName(_ value: TemplateValue) -> String {
    switch value {
    case .list: "[]interface {}"
    case .map: "map[string]interface {}"
    default: value.typeName
    }
  }

  static func bad(_ verb: Character, _ value: TemplateValue) -> String {
    if case .null = value { return "%!\(verb)(<nil>)" }
    return "%!\(verb)(\(typeName(value))=\(Self.value(value)))"
  }

  /// `fmt.Sprintf` with flags (`-+# 0`), width, precision and the verbs
  /// `v s q d x X o b c f F e E g G t`; nil once the result passes `limit` bytes (a format
  /// of many wide verbs would otherwise build gigabytes before any size check saw it).
  static func printf(_ format: String, _ args: [TemplateValue], limit: Int) -> String? {
    var out = ""
    let chars = Array(format)
    var i = 0
    var next = 0
    func number() -> Int? {
      var value: Int?
      while i < chars.count, let digit = chars[i].wholeNumberValue, chars[i].isASCII {
        value = min((value ?? 0) * 10 + digit, 1_000_000)
        i += 1
      }
      return value
    }
    while i < chars.count {
      let c = chars[i]
      i += 1
      guard c == "%" else {
        out.append(c)
        continue
      }
      var flags = Set<Character>()
      while i < chars.count, "-+# 0".contains(chars[i]) {
        flags.insert(chars[i])
        i += 1
      }
      let width = number()
      var precision: Int?
      if i < chars.count, chars[i] == "." {
        i += 1
        precision = number() ?? 0
      }
      guard i < chars.count else {
        out += "%!(NOVERB)"
        break
      }
      let verb = chars[i]
      i += 1
      if verb == "%" {
        out += "%"
        continue
      }
      guard next < args.count else {
        out += "%!\(verb)(MISSING)"
        continue
      }
      let arg = args[next]
      next += 1
      let (text, numeric) = formatted(arg, verb: verb, precision: precision, flags: flags)
      out += pad(text, width: width, flags: flags, numeric: numeric)
      if out.utf8.count > limit { return nil }
    }
    if next < args.count {
      out +=
        "%!(EXTRA "
        + args[next...].map { arg in
          if case .null = arg { return "<nil>" }
          return "\(typeName(arg))=\(value(arg))"
        }.joined(separator: ", ") + ")"
    }
    return out
  }

  private static func formatted(_ arg: TemplateValue, verb: Character, precision: Int?, flags: Set<Character>) -> (String, Bool) {
    func signed(_ text: String, _ negative: Bool) -> String {
      negative ? "-" + text : flags.contains("+") ? "+" + text : flags.contains(" ") ? " " + text : text
    }
    switch (verb, arg) {
    case ("v", .string(let s)), ("s", .string(let s)):
      return (precision.map { String(s.prefix($0)) } ?? s, false)
    case ("v", _):
      return (value(arg), isNumber(arg))
    case ("s", .list), ("s", .map):
      return (value(arg), false)
    case ("q", .string(let s)):
      return (quote(s), false)
    case ("t", .bool(let b)):
      return (b ? "true" : "false", false)
    case ("d", .integer(let n)):
      return (signed(String(n.magnitude), n < 0), true)
    case ("x", .integer(let n)), ("X", .integer(let n)), ("o", .integer(let n)), ("b", .integer(let n)):
      let radix = verb == "o" ? 8 : verb == "b" ? 2 : 16
      var digits = String(n.magnitude, radix: radix, uppercase: verb == "X")
      if flags.contains("#") { digits = (radix == 16 ? (verb == "X" ? "0X" : "0x") : radix == 8 ? "0" : "") + digits }
      return (signed(digits, n < 0), true)
    case ("x", .string(let s)), ("X", .string(let s)):
      return (s.utf8.map { String(format: verb == "X" ? "%02X" : "%02x", $0) }.joined(), false)
    case ("c", .integer(let n)):
      return (Unicode.Scalar(UInt32(truncatingIfNeeded: n)).map { String(Character($0)) } ?? "\u{FFFD}", false)
    case ("f", .float(let d)), ("F", .float(let d)), ("e", .float(let d)), ("E", .float(let d)):
      let spec = "%\(flags.contains("+") ? "+" : "").\(precision ?? 6)\(verb == "F" ? "f" : String(verb))"
      return (String(format: spec, d), true)
    case ("g", .float(let d)), ("G", .float(let d)):
      if let precision { return (String(format: "%.\(precision)\(verb)", d), true) }
      return (signed(TemplateValue.float(d.magnitude).rendered, d < 0), true)
    default:
      return (bad(verb, arg), false)
    }
  }

  private static func isNumber(_ value: TemplateValue) -> Bool {
    switch value {
    case .integer, .float: true
    default: false
    }
  }

  private static func pad(_ text: String, width: Int?, flags: Set<Character>, numeric: Bool) -> String {
    guard let width, text.count < width else { return text }
    let fill = width - text.count
    if flags.contains("-") { return text + String(repeating: " ", count: fill) }
    if flags.contains("0"), numeric {
      // Zeros go after the sign.
      if let sign = text.first, sign == "-" || sign == "+" || sign == " " {
        return String(sign) + String(repeating: "0", count: fill) + text.dropFirst()
      }
      return String(repeating: "0", count: fill) + text
    }
    return String(repeating: " ", count: fill) + text
  }

  /// `text` with each character in `table` replaced, and any other for which `other`
  /// answers replaced by that answer.
  private static func escape(
    _ text: String, _ table: [Unicode.Scalar: String], other: (Unicode.Scalar) -> String? = { _ in nil }
  ) -> String {
    var out = ""
    for scalar in text.unicodeScalars {
      if let replacement = table[scalar] ?? other(scalar) { out += replacement } else { out.unicodeScalars.append(scalar) }
    }
    return out
  }

  /// Go's `%q` (`strconv.Quote`) for the characters templates meet.
  public static func quote(_ text: String) -> String {
    let table: [Unicode.Scalar: String] = [
      "\"": "\\\"", "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\u{07}": "\\a", "\u{08}": "\\b",
      "\u{0C}": "\\f", "\u{0B}": "\\v",
    ]
    return "\"" + escape(text, table) { $0.value < 0x20 || $0.value == 0x7F ? String(format: "\\x%02x", $0.value) : nil } + "\""
  }

  /// text/template's `html`.
  static func htmlEscape(_ text: String) -> String {
    escape(text, ["\"": "&#34;", "'": "&#39;", "&": "&amp;", "<": "&lt;", ">": "&gt;", "\0": "\u{FFFD}"])
  }

  /// text/template's `js`.
  static func jsEscape(_ text: String) -> String {
    let table: [Unicode.Scalar: String] = [
      "\\": "\\\\", "'": "\\'", "\"": "\\\"", "<": "\\u003C", ">": "\\u003E", "&": "\\u0026", "=": "\\u003D",
    ]
    return escape(text, table) { scalar in
      scalar.value < 0x20 || (scalar.value >= 0x7F && scalar.value < 0xA0) ? String(format: "\\u%04X", scalar.value) : nil
    }
  }

  /// `url.QueryEscape`.
  static func queryEscape(_ text: String) -> String {
    var out = ""
    for byte in text.utf8 {
      switch byte {
      case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
        UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
        out.unicodeScalars.append(Unicode.Scalar(byte))
      case UInt8(ascii: " "): out += "+"
      default: out += String(format: "%%%02X", byte)
      }
    }
    return out
  }
}
