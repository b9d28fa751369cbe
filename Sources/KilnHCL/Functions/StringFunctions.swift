/// String functions, with Go's semantics where they differ from Swift's (case mapping one
/// scalar at a time, `strings.Title` word boundaries, byte-wise cutsets).
enum StringFunctions {
  /// Go's `strings.ToUpper`/`ToLower`: each scalar mapped alone (so "ß" stays "ß").
  static func mapScalars(_ text: String, upper: Bool) -> String {
    var out = String.UnicodeScalarView()
    for scalar in text.unicodeScalars {
      let mapped = upper ? scalar.properties.uppercaseMapping : scalar.properties.lowercaseMapping
      let scalars = Array(mapped.unicodeScalars)
      if scalars.count == 1 { out.append(scalars[0]) } else { out.append(scalar) }
    }
    return String(out)
  }

  /// Go's `strings.Title`: the first letter of each word in title case.
  static func title(_ text: String) -> String {
    var out = String.UnicodeScalarView()
    var previous: Unicode.Scalar = " "
    for scalar in text.unicodeScalars {
      if isSeparator(previous) {
        let mapped = Array(scalar.properties.titlecaseMapping.unicodeScalars)
        out.append(mapped.count == 1 ? mapped[0] : scalar)
      } else {
        out.append(scalar)
      }
      previous = scalar
    }
    return String(out)
  }

  private static func isSeparator(_ scalar: Unicode.Scalar) -> Bool {
    if scalar.value <= 0x7F {
      switch scalar {
      case "0"..."9", "a"..."z", "A"..."Z", "_": return false
      default: return true
      }
    }
    if scalar.properties.isAlphabetic || scalar.properties.numericType != nil { return false }
    return scalar.properties.isWhitespace
  }

  /// Trailing newlines removed (`\n`, `\r\n`, `\r`).
  static func chomp(_ text: String) -> String {
    var bytes = Array(text.utf8)
    while let last = bytes.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") { bytes.removeLast() }
    return String(decoding: bytes, as: UTF8.self)
  }

  static func indent(_ spaces: HCLValue, _ text: String, _ limits: EvalLimits) throws(HCLFunctionError) -> HCLValue {
    guard let count = spaces.numberValue.exactInt else { throw .general(NumberFunctions.wholeNumber) }
    let pad = String(repeating: " ", count: max(0, min(count, limits.stringBytes)))
    let lines = text.utf8.filter { $0 == UInt8(ascii: "\n") }.count
    guard text.utf8.count + lines * pad.utf8.count <= limits.stringBytes else { throw .general("the result would be too large") }
    return .string(text.replacingAll("\n", with: "\n" + pad))
  }

  static func join(_ separator: String, _ lists: [HCLValue], _ limits: EvalLimits) throws(HCLFunctionError) -> HCLValue {
    guard !lists.isEmpty else { throw .general("at least one list is required") }
    var items: [String] = []
    var size = 0
    for (listIndex, list) in lists.enumerated() {
      for (elementIndex, element) in (list.sequenceElements ?? []).enumerated() {
        guard case .string(let text) = element else {
          if lists.count > 1 {
            throw .argument(listIndex + 1, "element \(elementIndex) of list \(listIndex + 1) is null; cannot concatenate null values")
          }
          throw .argument(listIndex + 1, "element \(elementIndex) is null; cannot concatenate null values")
        }
        size += text.utf8.count + separator.utf8.count
        if size > limits.stringBytes { throw .general("the result would be too large") }
        items.append(text)
      }
    }
    return .normalized(items.joined(separator: separator))
  }

  /// Go's `strings.Split`: an empty separator splits into characters.
  static func split(_ separator: String, _ text: String) -> HCLValue {
    let parts: [String]
    if separator.isEmpty {
      parts = text.unicodeScalars.map { String($0) }
    } else {
      parts = text.splittingAll(separator)
    }
    return .list(parts.map { .normalized($0) }, elementType: .string)
  }

  /// Terraform's `replace`: a `/regex/` substring is a regular expression.
  static func replace(_ text: String, _ search: String, _ replacement: String, _ limits: EvalLimits) throws(HCLFunctionError) -> HCLValue {
    if search.count > 1, search.hasPrefix("/"), search.hasSuffix("/") {
      let pattern = String(search.dropFirst().dropLast())
      return try RegexFunctions.replace(text, pattern, replacement, limits)
    }
    if search.isEmpty {
      // Go's strings.Replace with an empty old string inserts at every boundary.
      var out = replacement
      for scalar in text.unicodeScalars { out += String(scalar) + replacement }
      guard out.utf8.count <= limits.stringBytes else { throw .general("the result would be too large") }
      return .normalized(out)
    }
    let result = text.replacingAll(search, with: replacement)
    guard result.utf8.count <= limits.stringBytes else { throw .general("the result would be too large") }
    return .normalized(result)
  }

  /// cty's `substr`: offsets and lengths in grapheme clusters, a negative offset from the end,
  /// a length of -1 to the end.
  static func substr(_ text: String, _ offsetValue: HCLValue, _ lengthValue: HCLValue) throws(HCLFunctionError) -> HCLValue {
    guard var offset = offsetValue.numberValue.exactInt, let length = lengthValue.numberValue.exactInt else {
      throw .general(NumberFunctions.wholeNumber)
    }
    let characters = Array(text)
    if offset < 0 {
      offset += characters.count
    } else if length == 0 {
      return .string("")
    }
    let start = min(max(offset, 0), characters.count)
    if length < 0 { return .string(String(characters[start...])) }
    let end = min(characters.count, start + min(length, characters.count))
    return .string(String(characters[start..<end]))
  }

  /// Go's `strings.Trim`: scalars in `cutset` removed from both ends.
  static func trim(_ text: String, cutset: String) -> String {
    let cut = Set(cutset.unicodeScalars)
    var scalars = Array(text.unicodeScalars)
    while let first = scalars.first, cut.contains(first) { scalars.removeFirst() }
    while let last = scalars.last, cut.contains(last) { scalars.removeLast() }
    return String(String.UnicodeScalarView(scalars))
  }

  /// Go's `strings.TrimSpace`: Unicode white space removed from both ends.
  static func trimSpace(_ text: String) -> String {
    var scalars = Array(text.unicodeScalars)
    while let first = scalars.first, isGoSpace(first) { scalars.removeFirst() }
    while let last = scalars.last, isGoSpace(last) { scalars.removeLast() }
    return String(String.UnicodeScalarView(scalars))
  }

  /// Go's `unicode.IsSpace`.
  static func isGoSpace(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x09...0x0D, 0x20, 0x85, 0xA0: return true
    default: return scalar.value > 0xFF && scalar.properties.isWhitespace
    }
  }
}

extension String {
  /// Every occurrence of `target` replaced, matching bytes (not canonical equivalence).
  func replacingAll(_ target: String, with replacement: String) -> String {
    splittingAll(target).joined(separator: replacement)
  }

  /// Pieces between occurrences of `separator` (byte-wise, like Go's `strings.Split`).
  func splittingAll(_ separator: String) -> [String] {
    let bytes = Array(utf8)
    let needle = Array(separator.utf8)
    guard !needle.isEmpty, bytes.count >= needle.count else { return [self] }
    var parts: [String] = []
    var start = 0
    var index = 0
    while index <= bytes.count - needle.count {
      if bytes[index] == needle[0] && bytes[index..<(index + needle.count)].elementsEqual(needle) {
        parts.append(String(decoding: bytes[start..<index], as: UTF8.self))
        index += needle.count
        start = index
      } else {
        index += 1
      }
    }
    parts.append(String(decoding: bytes[start...], as: UTF8.self))
    return parts
  }
}
