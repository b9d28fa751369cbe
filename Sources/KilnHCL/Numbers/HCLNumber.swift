/// An HCL number: what cty's `cty.Number` is, a binary floating-point value with a mantissa of
/// arbitrary precision (Go's `math/big.Float`), emulated bit for bit.
///
/// cty parses a literal to a 512-bit mantissa, rounding to nearest even; integers a function
/// returns carry 64 bits, results of float64 math (`pow`, `log`) 53. Every operation rounds to
/// the larger precision of its operands, as `big.Float` does, and `description` prints the
/// shortest decimal that reads back as the same value at that precision, in plain notation
/// (Go's `Text('f', -1)`, what cty prints and compares): so `1/10` is `0.1`, `11 % 5.1` is the
/// same 160-digit decimal cty gives, and integers of any size are exact.
///
/// One bound differs from Go: a magnitude beyond 2^±16384 (about 10^±4932) becomes infinity
/// or zero, where Go keeps going to 2^±2147483647. Printing such a number in full would take
/// megabytes, so no input may make Kiln do it.
public struct HCLNumber: Sendable, CustomStringConvertible {
  enum Form: Sendable { case zero, finite, infinity }

  var negative: Bool
  var form: Form
  /// Finite: the value is `mantissa * 2^exponent`, with `mantissa` odd (trailing zeros moved
  /// into the exponent).
  var mantissa: BigUInt
  var exponent: Int
  /// Bits of mantissa kept when rounding a result (cty: 512 for parsed numbers).
  var precision: Int

  /// Literal precision (cty.ParseNumberVal).
  public static let literalPrecision = 512
  /// The largest binary exponent kept (see the type's documentation).
  static let exponentLimit = 16384

  private init(negative: Bool, form: Form, mantissa: BigUInt, exponent: Int, precision: Int) {
    self.negative = negative
    self.form = form
    self.mantissa = mantissa
    self.exponent = exponent
    self.precision = precision
  }

  static func zero(negative: Bool = false, precision: Int) -> HCLNumber {
    HCLNumber(negative: negative, form: .zero, mantissa: .zero, exponent: 0, precision: precision)
  }

  static func infinity(negative: Bool, precision: Int) -> HCLNumber {
    HCLNumber(negative: negative, form: .infinity, mantissa: .zero, exponent: 0, precision: precision)
  }

  public static let positiveInfinity = infinity(negative: false, precision: 0)
  public static let negativeInfinity = infinity(negative: true, precision: 0)

  /// An integer, with 64 bits of precision (cty.NumberIntVal).
  public init(_ value: Int) {
    let magnitude = value.magnitude
    self = HCLNumber.make(negative: value < 0, mantissa: BigUInt(UInt64(magnitude)), exponent: 0, precision: 64, sticky: false)
  }

  /// A float64, with 53 bits of precision (cty.NumberFloatVal); nil for NaN.
  public init?(_ value: Double) {
    guard !value.isNaN else { return nil }
    if value.isInfinite {
      self = .infinity(negative: value < 0, precision: 53)
      return
    }
    if value == 0 {
      self = .zero(negative: value.sign == .minus, precision: 53)
      return
    }
    let significand = value.significandBitPattern | (value.isNormal ? (1 << 52) : 0)
    let exponent = value.isNormal ? Int(value.exponent) - 52 : -1074
    self = HCLNumber.make(negative: value < 0, mantissa: BigUInt(significand), exponent: exponent, precision: 53, sticky: false)
  }

  /// `mantissa * 2^exponent`, rounded to nearest even at `precision` bits; `sticky` says that
  /// nonzero bits lie below the mantissa (an inexact quotient).
  static func make(negative: Bool, mantissa: BigUInt, exponent: Int, precision: Int, sticky: Bool) -> HCLNumber {
    guard !mantissa.isZero else { return .zero(negative: negative, precision: precision) }
    let precision = Swift.max(precision, 1)
    var mantissa = mantissa
    var exponent = exponent
    let width = mantissa.bitWidth
    if width > precision {
      let shift = width - precision
      var kept = mantissa >> shift
      let half = mantissa.bit(shift - 1)
      let rest = sticky || mantissa.hasBits(below: shift - 1)
      exponent += shift
      if half && (rest || kept.bit(0)) {
        kept = kept + .one
        if kept.bitWidth > precision {
          kept = kept >> 1
          exponent += 1
        }
      }
      mantissa = kept
    }
    let zeros = mantissa.trailingZeroBitCount
    if zeros > 0 {
      mantissa = mantissa >> zeros
      exponent += zeros
    }
    let top = exponent + mantissa.bitWidth
    if top > exponentLimit { return .infinity(negative: negative, precision: precision) }
    if top < -exponentLimit { return .zero(negative: negative, precision: precision) }
    return HCLNumber(negative: negative, form: .finite, mantissa: mantissa, exponent: exponent, precision: precision)
  }

  /// This number rounded to `bits` of precision (Go's `SetPrec`).
  func withPrecision(_ bits: Int) -> HCLNumber {
    guard form == .finite else {
      var copy = self
      copy.precision = bits
      return copy
    }
    return .make(negative: negative, mantissa: mantissa, exponent: exponent, precision: bits, sticky: false)
  }

  // MARK: - Queries

  public var isZero: Bool { form == .zero }
  public var isInfinite: Bool { form == .infinity }
  public var isNegative: Bool { negative && form != .zero }
  /// -1, 0 or 1.
  public var sign: Int { form == .zero ? 0 : (negative ? -1 : 1) }

  /// True for a finite number with no fractional part.
  public var isInteger: Bool {
    switch form {
    case .zero: return true
    case .infinity: return false
    case .finite: return exponent >= 0
    }
  }

  /// The integer part, truncated toward zero (Go's `Int`); nil for infinity.
  var truncatedInteger: (negative: Bool, magnitude: BigUInt)? {
    switch form {
    case .zero: return (false, .zero)
    case .infinity: return nil
    case .finite:
      let magnitude = exponent >= 0 ? mantissa << exponent : mantissa >> -exponent
      return (negative && !magnitude.isZero, magnitude)
    }
  }

  /// The value as an Int when it is a whole number that fits.
  public var exactInt: Int? {
    guard isInteger, let (negative, magnitude) = truncatedInteger, let bits = magnitude.uint64 else { return nil }
    if negative {
      guard bits <= UInt64(Int.max) + 1 else { return nil }
      return bits == UInt64(Int.max) + 1 ? Int.min : -Int(bits)
    }
    guard bits <= UInt64(Int.max) else { return nil }
    return Int(bits)
  }

  /// The nearest float64 (Go's `Float64`).
  public var doubleValue: Double {
    switch form {
    case .zero: return negative ? -0.0 : 0.0
    case .infinity: return negative ? -.infinity : .infinity
    case .finite:
      let rounded = HCLNumber.make(negative: negative, mantissa: mantissa, exponent: exponent, precision: 53, sticky: false)
      guard rounded.form == .finite, let bits = rounded.mantissa.uint64 else { return rounded.doubleValue }
      let magnitude = Double(sign: .plus, exponent: rounded.exponent, significand: Double(bits))
      return negative ? -magnitude : magnitude
    }
  }

  // MARK: - Arithmetic (big.Float semantics)

  public enum ArithmeticError: Error, Sendable, Equatable {
    /// An operation whose result is not a number (∞ - ∞, 0 × ∞, 0 / 0, ∞ / ∞).
    case notANumber
  }

  public static prefix func - (operand: HCLNumber) -> HCLNumber {
    var copy = operand
    copy.negative.toggle()
    return copy
  }

  public var magnitude: HCLNumber {
    var copy = self
    copy.negative = false
    return copy
  }

  public func adding(_ other: HCLNumber) throws(ArithmeticError) -> HCLNumber {
    try adding(other, precision: Swift.max(self.precision, other.precision))
  }

  func adding(_ other: HCLNumber, precision: Int) throws(ArithmeticError) -> HCLNumber {
    switch (form, other.form) {
    case (.infinity, .infinity):
      guard negative == other.negative else { throw .notANumber }
      return .infinity(negative: negative, precision: precision)
    case (.infinity, _): return .infinity(negative: negative, precision: precision)
    case (_, .infinity): return .infinity(negative: other.negative, precision: precision)
    case (.zero, .zero): return .zero(negative: negative && other.negative, precision: precision)
    case (.zero, _): return other.withPrecision(precision)
    case (_, .zero): return withPrecision(precision)
    case (.finite, .finite): break
    }
    // Align exponents exactly. A far smaller operand only acts as a sticky bit: replace it by a
    // stand-in just below the rounding position, which rounds the same way.
    var (a, b) = (self, other)
    let topA = a.exponent + a.mantissa.bitWidth
    let topB = b.exponent + b.mantissa.bitWidth
    let gap = precision + 4
    if topA - topB > gap {
      b = HCLNumber(negative: b.negative, form: .finite, mantissa: .one, exponent: topA - gap - 2, precision: b.precision)
    } else if topB - topA > gap {
      a = HCLNumber(negative: a.negative, form: .finite, mantissa: .one, exponent: topB - gap - 2, precision: a.precision)
    }
    let base = Swift.min(a.exponent, b.exponent)
    let ma = a.mantissa << (a.exponent - base)
    let mb = b.mantissa << (b.exponent - base)
    if a.negative == b.negative {
      return .make(negative: a.negative, mantissa: ma + mb, exponent: base, precision: precision, sticky: false)
    }
    switch BigUInt.compare(ma, mb) {
    case 0: return .zero(negative: false, precision: precision)
    case 1: return .make(negative: a.negative, mantissa: ma - mb, exponent: base, precision: precision, sticky: false)
    default: return .make(negative: b.negative, mantissa: mb - ma, exponent: base, precision: precision, sticky: false)
    }
  }

  public func subtracting(_ other: HCLNumber) throws(ArithmeticError) -> HCLNumber {
    try adding(-other)
  }

  public func multiplied(by other: HCLNumber) throws(ArithmeticError) -> HCLNumber {
    try multiplied(by: other, precision: Swift.max(self.precision, other.precision))
  }

  func multiplied(by other: HCLNumber, precision: Int) throws(ArithmeticError) -> HCLNumber {
    let negative = self.negative != other.negative
    switch (form, other.form) {
    case (.zero, .infinity), (.infinity, .zero): throw .notANumber
    case (.infinity, _), (_, .infinity): return .infinity(negative: negative, precision: precision)
    case (.zero, _), (_, .zero): return .zero(negative: negative, precision: precision)
    case (.finite, .finite):
      return .make(
        negative: negative, mantissa: mantissa * other.mantissa, exponent: exponent + other.exponent,
        precision: precision, sticky: false)
    }
  }

  /// Go's `Quo`: division by zero gives infinity; 0/0 and ∞/∞ are not numbers.
  public func divided(by other: HCLNumber) throws(ArithmeticError) -> HCLNumber {
    try divided(by: other, precision: Swift.max(self.precision, other.precision))
  }

  func divided(by other: HCLNumber, precision: Int) throws(ArithmeticError) -> HCLNumber {
    let negative = self.negative != other.negative
    switch (form, other.form) {
    case (.zero, .zero), (.infinity, .infinity): throw .notANumber
    case (.zero, _), (_, .infinity): return .zero(negative: negative, precision: precision)
    case (.infinity, _), (_, .zero): return .infinity(negative: negative, precision: precision)
    case (.finite, .finite):
      // Enough quotient bits to round correctly: precision + 2, plus the remainder as sticky.
      let shift = Swift.max(0, precision + 2 - (mantissa.bitWidth - other.mantissa.bitWidth))
      let (quotient, remainder) = (mantissa << shift).quotientAndRemainder(dividingBy: other.mantissa)
      return .make(
        negative: negative, mantissa: quotient, exponent: exponent - other.exponent - shift,
        precision: precision, sticky: !remainder.isZero)
    }
  }

  /// cty's `Modulo`: `a - b * trunc(a / b)`, computed at `a`'s precision; `a % 0` is `a`.
  public func remainder(dividingBy other: HCLNumber) throws(ArithmeticError) -> HCLNumber {
    if form == .infinity || other.form == .infinity { throw .notANumber }
    if other.form == .zero { return self }
    let ratio = try divided(by: other)
    guard let (negative, magnitude) = ratio.truncatedInteger else { throw .notANumber }
    let whole = HCLNumber.make(negative: negative, mantissa: magnitude, exponent: 0, precision: precision, sticky: false)
    let product = try other.multiplied(by: whole, precision: precision)
    return try adding(-product, precision: precision)
  }

  /// Go's `Cmp`: -1, 0 or 1 (±0 are equal).
  public static func compare(_ lhs: HCLNumber, _ rhs: HCLNumber) -> Int {
    let (sl, sr) = (lhs.sign, rhs.sign)
    if sl != sr { return sl < sr ? -1 : 1 }
    if sl == 0 { return 0 }
    let flip = sl < 0 ? -1 : 1
    switch (lhs.form, rhs.form) {
    case (.infinity, .infinity): return 0
    case (.infinity, _): return flip
    case (_, .infinity): return -flip
    default: break
    }
    let topL = lhs.exponent + lhs.mantissa.bitWidth
    let topR = rhs.exponent + rhs.mantissa.bitWidth
    if topL != topR { return (topL < topR ? -1 : 1) * flip }
    let base = Swift.min(lhs.exponent, rhs.exponent)
    return BigUInt.compare(lhs.mantissa << (lhs.exponent - base), rhs.mantissa << (rhs.exponent - base)) * flip
  }

  /// cty's equality: the same printed text (and +0 equals -0).
  public static func equal(_ lhs: HCLNumber, _ rhs: HCLNumber) -> Bool {
    if lhs.isZero && rhs.isZero { return true }
    return lhs.sign == rhs.sign && lhs.description == rhs.description
  }

  // MARK: - Text

  /// Go's `Text('f', -1)`: shortest digits that round back, no exponent; `+Inf`, `-Inf`.
  public var description: String {
    let sign = negative ? "-" : ""
    switch form {
    case .zero: return sign + "0"
    case .infinity: return negative ? "-Inf" : "+Inf"
    case .finite:
      var digits = DecimalDigits(mantissa: mantissa, exponent: exponent)
      roundShortest(&digits)
      return sign + digits.plainText
    }
  }

  /// Go's `roundShortest` (math/big/ftoa.go): the fewest digits that still lie strictly (or, for
  /// an even mantissa, inclusively) between the halfway points to the neighbouring values.
  private func roundShortest(_ d: inout DecimalDigits) {
    guard !d.digits.isEmpty else { return }
    let shift = precision + 1 - mantissa.bitWidth
    let scaled = mantissa << shift
    let scaledExponent = exponent - shift
    let lower = DecimalDigits(mantissa: scaled - .one, exponent: scaledExponent)
    let upper = DecimalDigits(mantissa: scaled + .one, exponent: scaledExponent)
    let inclusive = !scaled.bit(1)
    for index in d.digits.indices {
      let m = d.digits[index]
      let l = lower.at(index)
      let u = upper.at(index)
      let okDown = l != m || inclusive && index + 1 == lower.digits.count
      let okUp = m != u && (inclusive || m + 1 < u || index + 1 < upper.digits.count)
      switch (okDown, okUp) {
      case (true, true):
        d.round(index + 1)
        return
      case (true, false):
        d.roundDown(index + 1)
        return
      case (false, true):
        d.roundUp(index + 1)
        return
      case (false, false): continue
      }
    }
  }
}

/// An exact decimal `0.d₁d₂… × 10^point`, as Go's math/big `decimal` (digits are ASCII).
struct DecimalDigits {
  var digits: [UInt8]
  var point: Int

  init(mantissa: BigUInt, exponent: Int) {
    guard !mantissa.isZero else {
      digits = []
      point = 0
      return
    }
    var mantissa = mantissa
    var exponent = exponent
    if exponent < 0 {
      let zeros = Swift.min(mantissa.trailingZeroBitCount, -exponent)
      mantissa = mantissa >> zeros
      exponent += zeros
    }
    let text: String
    var fraction = 0
    if exponent >= 0 {
      text = (mantissa << exponent).decimalString
    } else {
      // m / 2^k = m * 5^k / 10^k
      text = (mantissa * BigUInt.powerOfFive(-exponent)).decimalString
      fraction = -exponent
    }
    var bytes = Array(text.utf8)
    point = bytes.count - fraction
    while let last = bytes.last, last == UInt8(ascii: "0") { bytes.removeLast() }
    digits = bytes
    if digits.isEmpty { point = 0 }
  }

  func at(_ index: Int) -> UInt8 { index >= 0 && index < digits.count ? digits[index] : UInt8(ascii: "0") }

  mutating func round(_ n: Int) {
    guard n >= 0, n < digits.count else { return }
    let up: Bool
    if digits[n] == UInt8(ascii: "5") && n + 1 == digits.count {
      up = n > 0 && (digits[n - 1] - UInt8(ascii: "0")) & 1 != 0
    } else {
      up = digits[n] >= UInt8(ascii: "5")
    }
    if up { roundUp(n) } else { roundDown(n) }
  }

  mutating func roundUp(_ n: Int) {
    guard n >= 0, n < digits.count else { return }
    var n = n
    while n > 0 && digits[n - 1] >= UInt8(ascii: "9") { n -= 1 }
    if n == 0 {
      digits = [UInt8(ascii: "1")]
      point += 1
      return
    }
    digits[n - 1] += 1
    digits.removeSubrange(n...)
  }

  mutating func roundDown(_ n: Int) {
    guard n >= 0, n < digits.count else { return }
    digits.removeSubrange(n...)
    while let last = digits.last, last == UInt8(ascii: "0") { digits.removeLast() }
    if digits.isEmpty { point = 0 }
  }

  /// Go's `%f` with just the digits there are.
  var plainText: String {
    var out: [UInt8] = []
    if point > 0 {
      let count = Swift.min(digits.count, point)
      out.append(contentsOf: digits[0..<count])
      if count < point { out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: point - count)) }
    } else {
      out.append(UInt8(ascii: "0"))
    }
    let fractionDigits = Swift.max(digits.count - point, 0)
    if fractionDigits > 0 {
      out.append(UInt8(ascii: "."))
      for index in 0..<fractionDigits { out.append(at(point + index)) }
    }
    return String(decoding: out, as: UTF8.self)
  }
}
