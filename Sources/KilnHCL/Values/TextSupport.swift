internal import Foundation

/// Unicode normal form C, as cty applies to every string it stores.
enum UnicodeNFC {
  static func normalize(_ text: String) -> String {
    // ASCII is always normalized; skip the work for the common case.
    if text.utf8.allSatisfy({ $0 < 0x80 }) { return text }
    return text.precomposedStringWithCanonicalMapping
  }
}

/// JSON string text as Go's encoding/json writes it (what cty's jsonencode produces): `<`, `>`
/// and `&` escaped as \u003c etc., U+2028 and U+2029 escaped, control characters as \u00XX
/// except \n \r \t.
enum JSONText {
  static func quote(_ text: String) -> String {
    var out = "\""
    out.reserveCapacity(text.utf8.count + 2)
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case "<", ">", "&", "\u{2028}", "\u{2029}":
        out += hexEscape(scalar.value)
      default:
        if scalar.value < 0x20 { out += hexEscape(scalar.value) } else { out.unicodeScalars.append(scalar) }
      }
    }
    return out + "\""
  }

  private static func hexEscape(_ value: UInt32) -> String {
    let hex = String(value, radix: 16)
    return "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
  }
}
