/// cty's `format` and `formatlist`: printf-style verbs over HCL values.
///
/// `%v` (strings as they are, numbers shortest, anything else as JSON; `%#v` always JSON),
/// `%t`, integers `%b %d %o %x %X`, numbers `%e %E %f %g %G`, strings `%s %q`, `%%`; flags
/// `+ - # 0` and space, width, `.precision`, and `[n]` argument indexes. Every argument must be
/// used by some verb.
enum Formatter {
  struct Verb {
    var raw: String
    var offset: Int
    var argument: Int
    var mode: Unicode.Scalar = "v"
    var sharp = false, zero = false, minus = false, plus = false, space = false
    var width: Int?
    var precision: Int?
  }

  static func format(_ format: String, _ arguments: [HCLValue], _ limits: EvalLimits) throws(HCLFunctionError) -> HCLValue {
    guard arguments.allSatisfy(\.isWhollyKnown) else { return .unknown(.string) }
    return .normalized(try render(format, arguments, limits))
  }

  static func formatList(_ format: String, _ arguments: [HCLValue], _ limits: EvalLimits) throws(HCLFunctionError) -> HCLValue {
    var length: Int?
    var chooser = 0
    for (index, argument) in arguments.enumerated() where !argument.isNull {
      guard argument.type.isList || argument.type.isSet || argument.type.isTuple, let count = argument.length else { continue }
      if let length, count != length {
        throw .argument(
          index + 1, "argument \(index + 1) has length \(count), which is inconsistent with argument \(chooser + 1) of length \(length)")
      }
      if length == nil {
        length = count
        chooser = index
      }
    }
    let iterations = length ?? 1
    if iterations == 0 { return .list([], elementType: .string) }
    guard iterations <= limits.elements else { throw .general("the result would have too many elements") }
    var results: [HCLValue] = []
    for iteration in 0..<iterations {
      let values = arguments.map { argument -> HCLValue in
        if !argument.isNull, argument.type.isList || argument.type.isSet || argument.type.isTuple, let elements = argument.sequenceElements {
          return elements[iteration]
        }
        return argument
      }
      guard values.allSatisfy(\.isWhollyKnown) else {
        results.append(.unknown(.string))
        continue
      }
      do {
        results.append(.normalized(try render(format, values, limits)))
      } catch {
        switch error {
        case .argument(_, let message), .general(let message): throw .general("error on format iteration \(iteration): \(message)")
        }
      }
    }
    return .list(results, elementType: .string)
  }

  static func render(_ format: String, _ arguments: [HCLValue], _ limits: EvalLimits) throws(HCLFunctionError) -> String {
    let bytes = Array(format.utf8)
    var out = ""
    var index = 0
    var nextArgument = 1
    var highest = 0
    while index < bytes.count {
      guard bytes[index] == UInt8(ascii: "%") else {
        var end = index
        while end < bytes.count, bytes[end] != UInt8(ascii: "%") { end += 1 }
        out += String(decoding: bytes[index..<end], as: UTF8.self)
        index = end
        continue
      }
      let start = index
      index += 1
      guard index < bytes.count else { throw .general("invalid format string starting at offset \(index)") }
      if bytes[index] == UInt8(ascii: "%") {
        out += "%"
        index += 1
        continue
      }
      var verb = Verb(raw: "", offset: start, argument: nextArgument)
      flags: while index < bytes.count {
        switch bytes[index] {
        case UInt8(ascii: "#"): verb.sharp = true
        case UInt8(ascii: "0"): verb.zero = true
        case UInt8(ascii: "-"): verb.minus = true
        case UInt8(ascii: "+"): verb.plus = true
        case UInt8(ascii: " "): verb.space = true
        default: break flags
        }
        index += 1
      }
      func digits() -> Int? {
        var value: Int?
        while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
          value = min((value ?? 0) * 10 + Int(bytes[index] - UInt8(ascii: "0")), 1 << 20)
          index += 1
        }
        return value
      }
      if index < bytes.count, bytes[index] == UInt8(ascii: "[") {
        index += 1
        guard let number = digits(), index < bytes.count, bytes[index] == UInt8(ascii: "]") else {
          throw .general("invalid format string starting at offset \(index)")
        }
        index += 1
        verb.argument = number
      }
      verb.width = digits()
      if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
        index += 1
        verb.precision = digits() ?? 0
      }
      guard index < bytes.count else { throw .general("invalid format string starting at offset \(index)") }
      let length = Scanner.scalarLength(bytes, index)
      let modeText = String(decoding: bytes[index..<(index + length)], as: UTF8.self)
      guard let mode = modeText.unicodeScalars.first, mode.isASCII, mode.properties.isAlphabetic else {
        throw .general("unrecognized format character \(GoQuote.quote(modeText).replacingAll("\"", with: "'")) at offset \(index)")
      }
      index += 1
      verb.mode = mode
      verb.raw = String(decoding: bytes[start..<index], as: UTF8.self)
      highest = max(highest, verb.argument)
      out += try append(verb, arguments)
      if out.utf8.count > limits.stringBytes { throw .general("the result would be too large") }
      nextArgument = verb.argument + 1
    }
    if highest < arguments.count {
      if highest == 0 { throw .argument(highest + 1, "too many arguments; no verbs in format string") }
      throw .argument(highest + 1, "too many arguments; only \(highest) used by format string")
    }
    return out
  }

  private static func append(_ verb: Verb, _ arguments: [HCLValue]) throws(HCLFunctionError) -> String {
    guard verb.argument >= 1, verb.argument <= arguments.count else {
      throw .general(
        "not enough arguments for \(GoQuote.quote(verb.raw)) at \(verb.offset): need index \(verb.argument) but have \(arguments.count) total")
    }
    let argument = arguments[verb.argument - 1]
    if verb.mode != "v" && argument.isNull {
      throw .general("unsupported value for \(GoQuote.quote(verb.raw)) at \(verb.offset): null value cannot be formatted")
    }
    func unsupported(_ message: String) -> HCLFunctionError {
      .general("unsupported value for \(GoQuote.quote(verb.raw)) at \(verb.offset): \(message)")
    }
    switch verb.mode {
    case "v":
      if !verb.sharp && !argument.isNull {
        if case .string(let text) = argument { return pad(verb, text) }
        if case .number(let number) = argument { return pad(verb, NumberText.general(number, precision: nil, upper: false)) }
      }
      guard case .string(let json) = try EncodingFunctions.jsonEncode(argument) else { return "" }
      return pad(verb, json)
    case "t":
      guard case .bool(let flag) = try? HCLConvert.convert(argument, to: .bool) else {
        throw unsupported(HCLConvert.mismatchMessage(got: argument.type, want: .bool))
      }
      return flag ? "true" : "false"
    case "b", "d", "o", "x", "X", "e", "E", "f", "g", "G":
      let converted: HCLValue
      do {
        converted = try HCLConvert.convert(argument, to: .number)
      } catch {
        throw unsupported(error.message)
      }
      guard case .number(let number) = converted else { throw unsupported("number required") }
      if ["b", "d", "o", "x", "X"].contains(verb.mode) {
        guard number.isInteger, let (negative, magnitude) = number.truncatedInteger else { throw unsupported("an integer is required") }
        return integer(verb, negative: negative, magnitude: magnitude)
      }
      return float(verb, number)
    case "s", "q":
      let converted: HCLValue
      do {
        converted = try HCLConvert.convert(argument, to: .string)
      } catch {
        throw unsupported(error.message)
      }
      var text = converted.stringValue
      if let precision = verb.precision, precision > 0 { text = String(text.prefix(precision)) }
      return pad(verb, verb.mode == "s" ? text : JSONText.quote(text))
    default:
      throw .general(
        "unsupported format verb \(GoQuote.quote(String(verb.mode)).replacingAll("\"", with: "'")) in \(GoQuote.quote(verb.raw)) at offset \(verb.offset)"
      )
    }
  }

  /// cty's own padding (grapheme clusters; zeros or spaces; left or right).
  private static func pad(_ verb: Verb, _ text: String) -> String {
    guard let width = verb.width, text.count < width else { return text }
    let padding = String(repeating: verb.zero ? "0" : " ", count: width - text.count)
    return verb.minus ? text + padding : padding + text
  }

  /// Go's fmt for a big.Int: sign, `#` prefix, precision as minimum digits, width padding.
  private static func integer(_ verb: Verb, negative: Bool, magnitude: BigUInt) -> String {
    let radix: UInt32 =
      switch verb.mode {
      case "b": 2
      case "o": 8
      case "x", "X": 16
      default: 10
      }
    var digits = radix == 10 ? magnitude.decimalString : NumberText.digits(magnitude, radix: radix)
    if verb.mode == "X" { digits = digits.uppercased() }
    if let precision = verb.precision {
      if precision == 0 && magnitude.isZero { digits = "" }
      if digits.count < precision { digits = String(repeating: "0", count: precision - digits.count) + digits }
    }
    var prefix = ""
    if verb.sharp {
      switch verb.mode {
      case "b": prefix = "0b"
      case "o": if !digits.hasPrefix("0") { prefix = "0" }
      case "x": prefix = "0x"
      case "X": prefix = "0X"
      default: break
      }
    }
    let sign = negative ? "-" : verb.plus ? "+" : verb.space ? " " : ""
    return padNumber(verb, sign: sign, body: prefix + digits, zeroAllowed: verb.precision == nil)
  }

  private static func float(_ verb: Verb, _ number: HCLNumber) -> String {
    let sign = number.negative ? "-" : verb.plus ? "+" : verb.space ? " " : ""
    var body: String
    if number.isInfinite {
      body = "Inf"
      return padNumber(verb, sign: number.negative ? "-" : verb.plus ? "+" : verb.space ? " " : "", body: body, zeroAllowed: false)
    }
    let magnitude = number.magnitude
    switch verb.mode {
    case "e", "E": body = NumberText.exponent(magnitude, precision: verb.precision ?? 6, upper: verb.mode == "E")
    case "f": body = NumberText.fixed(magnitude, precision: verb.precision ?? 6)
    default: body = NumberText.general(magnitude, precision: verb.precision, upper: verb.mode == "G")
    }
    return padNumber(verb, sign: sign, body: body, zeroAllowed: true)
  }

  private static func padNumber(_ verb: Verb, sign: String, body: String, zeroAllowed: Bool) -> String {
    let text = sign + body
    guard let width = verb.width, text.count < width else { return text }
    if verb.minus { return text + String(repeating: " ", count: width - text.count) }
    if verb.zero && zeroAllowed { return sign + String(repeating: "0", count: width - text.count) + body }
    return String(repeating: " ", count: width - text.count) + text
  }
}

/// Go's big.Float text in `%e`, `%f` and `%g` forms, from the exact decimal value.
enum NumberText {
  static func digits(_ value: BigUInt, radix: UInt32) -> String {
    guard !value.isZero else { return "0" }
    var out: [Character] = []
    var rest = value
    let symbols = Array("0123456789abcdef")
    while !rest.isZero {
      let (q, r) = rest.quotientAndRemainder(dividingBy: radix)
      out.append(symbols[Int(r)])
      rest = q
    }
    return String(out.reversed())
  }

  private static func decimal(_ number: HCLNumber) -> DecimalDigits {
    DecimalDigits(mantissa: number.mantissa, exponent: number.exponent)
  }

  static func fixed(_ number: HCLNumber, precision: Int) -> String {
    var d = decimal(number)
    d.round(d.point + precision)
    return fixedText(d, precision: precision)
  }

  static func fixedText(_ d: DecimalDigits, precision: Int) -> String {
    var out = ""
    if d.point > 0 {
      let count = min(d.digits.count, d.point)
      out = String(decoding: d.digits[0..<count], as: UTF8.self) + String(repeating: "0", count: d.point - count)
    } else {
      out = "0"
    }
    if precision > 0 {
      out += "."
      for index in 0..<precision { out.unicodeScalars.append(Unicode.Scalar(d.at(d.point + index))) }
    }
    return out
  }

  static func exponent(_ number: HCLNumber, precision: Int, upper: Bool) -> String {
    var d = decimal(number)
    d.round(1 + precision)
    return exponentText(d, precision: precision, upper: upper)
  }

  static func exponentText(_ d: DecimalDigits, precision: Int, upper: Bool) -> String {
    var out = String(Unicode.Scalar(d.digits.isEmpty ? UInt8(ascii: "0") : d.digits[0]))
    if precision > 0 {
      out += "."
      for index in 1...precision { out.unicodeScalars.append(Unicode.Scalar(d.at(index))) }
    }
    let exponent = d.digits.isEmpty ? 0 : d.point - 1
    let magnitude = abs(exponent)
    return out + (upper ? "E" : "e") + (exponent < 0 ? "-" : "+") + (magnitude < 10 ? "0" : "") + String(magnitude)
  }

  /// `%g`: shortest digits when no precision is given (`Text('g', -1)`), else that many
  /// significant digits; exponent form for small or large exponents.
  static func general(_ number: HCLNumber, precision: Int?, upper: Bool) -> String {
    if number.isInfinite { return number.negative ? "-Inf" : "+Inf" }
    let sign = number.isNegative ? "-" : ""
    let magnitude = number.magnitude
    var d: DecimalDigits
    var digits: Int
    var shortest = false
    if let precision {
      d = decimal(magnitude)
      digits = max(precision, 1)
      d.round(digits)
    } else {
      // The shortest text that reads back, as `description` computes it.
      let text = magnitude.description
      d = DecimalDigits(plain: text)
      digits = d.digits.count
      shortest = true
    }
    var exponentLimit = digits
    if exponentLimit > d.digits.count && d.digits.count >= d.point { exponentLimit = d.digits.count }
    if shortest { exponentLimit = 6 }
    let exponent = d.point - 1
    if !d.digits.isEmpty && (exponent < -4 || exponent >= exponentLimit) {
      let p = min(digits, d.digits.count)
      return sign + exponentText(d, precision: max(p - 1, 0), upper: upper)
    }
    if digits > d.point { digits = d.digits.count }
    return sign + fixedText(d, precision: max(digits - d.point, 0))
  }
}

extension DecimalDigits {
  /// From plain decimal text ("123.45", "0.001").
  init(plain text: String) {
    var digits: [UInt8] = []
    var point = 0
    var seenPoint = false
    for byte in text.utf8 {
      if byte == UInt8(ascii: ".") {
        seenPoint = true
        continue
      }
      guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { continue }
      if digits.isEmpty && byte == UInt8(ascii: "0") {
        if seenPoint { point -= 1 }
        continue
      }
      digits.append(byte)
      if !seenPoint { point += 1 }
    }
    while let last = digits.last, last == UInt8(ascii: "0") { digits.removeLast() }
    self.init(mantissa: .zero, exponent: 0)
    self.digits = digits
    self.point = digits.isEmpty ? 0 : point
  }
}
