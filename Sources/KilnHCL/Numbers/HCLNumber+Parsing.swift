extension HCLNumber {
  /// Mantissa digits accepted in one number (Go takes any count; 10 000 digits is far beyond
  /// any configuration and keeps the exact conversion cheap).
  static let maximumDigits = 10_000

  /// Parses decimal text as cty does (`big.ParseFloat(text, 10, 512, ToNearestEven)`): an
  /// optional sign, digits with at most one `.`, an optional exponent `e±digits`, or
  /// `Inf`/`inf`. Returns nil for anything else.
  public init?(parsing text: some StringProtocol) {
    let bytes = Array(text.utf8)
    var index = 0
    var negative = false
    let infinityWords: Set<[UInt8]> = [Array("Inf".utf8), Array("inf".utf8)]
    if bytes.count == 3, infinityWords.contains(bytes) {
      self = .infinity(negative: false, precision: Self.literalPrecision)
      return
    }
    if bytes.count == 4, bytes[0] == UInt8(ascii: "+") || bytes[0] == UInt8(ascii: "-"), infinityWords.contains(Array(bytes[1...])) {
      self = .infinity(negative: bytes[0] == UInt8(ascii: "-"), precision: Self.literalPrecision)
      return
    }
    if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
      negative = bytes[index] == UInt8(ascii: "-")
      index += 1
    }
    var digits: [UInt8] = []
    var fractionDigits = 0
    var sawPoint = false
    var sawDigit = false
    while index < bytes.count {
      let byte = bytes[index]
      if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
        sawDigit = true
        // Leading zeros carry no value; skipping them keeps the digit bound about significance.
        if !(digits.isEmpty && byte == UInt8(ascii: "0")) { digits.append(byte) }
        if sawPoint { fractionDigits += 1 }
      } else if byte == UInt8(ascii: "."), !sawPoint {
        sawPoint = true
      } else {
        break
      }
      index += 1
    }
    guard sawDigit, digits.count <= Self.maximumDigits else { return nil }
    var decimalExponent = 0
    if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
      index += 1
      var exponentNegative = false
      if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
        exponentNegative = bytes[index] == UInt8(ascii: "-")
        index += 1
      }
      var exponentDigits = 0
      var value = 0
      while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
        exponentDigits += 1
        // Go reads the exponent as an int64; anything larger is an error there too.
        guard exponentDigits <= 18 else { return nil }
        value = value * 10 + Int(bytes[index] - UInt8(ascii: "0"))
        index += 1
      }
      guard exponentDigits > 0 else { return nil }
      decimalExponent = exponentNegative ? -value : value
    }
    guard index == bytes.count else { return nil }
    let mantissa = BigUInt(decimalDigits: digits)
    guard !mantissa.isZero else {
      self = .zero(negative: negative, precision: Self.literalPrecision)
      return
    }
    let power = decimalExponent - fractionDigits
    // Go's binary exponent must fit an int32.
    guard abs(power) + mantissa.bitWidth < Int(Int32.max) else { return nil }
    // value = mantissa * 2^power * 5^power, the 5^power computed as Go's pow5 does.
    let exact = HCLNumber(rawNegative: negative, mantissa: mantissa, exponent: power, precision: Self.literalPrecision)
    guard power != 0 else {
      self = exact.withPrecision(Self.literalPrecision)
      return
    }
    let five = Self.powerOfFive(power.magnitude, precision: Self.literalPrecision + 64)
    do {
      self =
        power < 0
        ? try exact.divided(by: five, precision: Self.literalPrecision)
        : try exact.multiplied(by: five, precision: Self.literalPrecision)
    } catch {
      return nil
    }
  }

  /// An unrounded finite value (the caller rounds it through an operation).
  init(rawNegative: Bool, mantissa: BigUInt, exponent: Int, precision: Int) {
    self = HCLNumber.make(negative: rawNegative, mantissa: mantissa, exponent: exponent, precision: Int.max / 2, sticky: false)
    self.precision = precision
  }

  /// Go's `pow5`: exact up to 5^27, then square-and-multiply with rounding at `precision`
  /// (and `precision + 64` for the running square).
  static func powerOfFive(_ n: UInt, precision: Int) -> HCLNumber {
    func integer(_ value: UInt64, _ precision: Int) -> HCLNumber {
      HCLNumber.make(negative: false, mantissa: BigUInt(value), exponent: 0, precision: precision, sticky: false)
    }
    var table: [UInt64] = [1]
    for _ in 0..<27 { table.append(table[table.count - 1] * 5) }
    if n <= 27 { return integer(table[Int(n)], precision) }
    var z = integer(table[27], precision)
    var f = integer(5, precision + 64)
    var n = n - 27
    while n > 0 {
      if n & 1 != 0 { z = (try? z.multiplied(by: f, precision: precision)) ?? z }
      f = (try? f.multiplied(by: f, precision: precision + 64)) ?? f
      n >>= 1
    }
    return z
  }
}
