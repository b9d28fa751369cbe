internal import Foundation

/// Numeric functions. `log` and `pow` go through float64, as cty's do (their results carry 53
/// bits); the others keep full precision.
enum NumberFunctions {
  static let wholeNumber = "value must be a whole number, between -9223372036854775808 and 9223372036854775807"

  /// `ceil` (up) or `floor`: the nearest whole number in that direction, at the argument's
  /// precision.
  static func round(_ number: HCLNumber, up: Bool) throws(HCLFunctionError) -> HCLValue {
    guard !number.isInfinite, let (negative, magnitude) = number.truncatedInteger else { return .number(number) }
    var whole = HCLNumber.make(negative: negative, mantissa: magnitude, exponent: 0, precision: number.precision, sticky: false)
    let compare = HCLNumber.compare(whole, number)
    do {
      if up && compare < 0 { whole = try whole.adding(HCLNumber(1), precision: number.precision) }
      if !up && compare > 0 { whole = try whole.subtracting(HCLNumber(1)).withPrecision(number.precision) }
    } catch {
      throw .general("cannot round this number")
    }
    return .number(whole)
  }

  static func log(_ number: HCLNumber, _ base: HCLNumber) throws(HCLFunctionError) -> HCLValue {
    let value = Foundation.log(number.doubleValue) / Foundation.log(base.doubleValue)
    guard let result = HCLNumber(value) else { throw .general("the result is not a number") }
    return .number(result)
  }

  static func pow(_ number: HCLNumber, _ power: HCLNumber) throws(HCLFunctionError) -> HCLValue {
    let value = Foundation.pow(number.doubleValue, power.doubleValue)
    guard let result = HCLNumber(value) else { throw .general("the result is not a number") }
    return .number(result)
  }

  /// `max`/`min`: the argument itself (its precision kept), as cty returns it.
  static func extreme(_ numbers: [HCLValue], greatest: Bool) throws(HCLFunctionError) -> HCLValue {
    guard !numbers.isEmpty else { throw .general("must pass at least one number") }
    var best = greatest ? HCLValue.number(.negativeInfinity) : HCLValue.number(.positiveInfinity)
    for candidate in numbers {
      let order = HCLNumber.compare(candidate.numberValue, best.numberValue)
      if greatest ? order > 0 : order < 0 { best = candidate }
    }
    return best
  }

  static func signum(_ value: HCLValue) throws(HCLFunctionError) -> HCLValue {
    guard let number = value.numberValue.exactInt else { throw .general(wholeNumber) }
    return .number(number.signum())
  }

  /// cty's `parseint`: Go's big.Int parsing in bases 2 to 62.
  static func parseInt(_ text: HCLValue, _ baseValue: HCLValue) throws(HCLFunctionError) -> HCLValue {
    guard case .string(let string) = try? HCLConvert.convert(text, to: .string) else {
      throw .argument(0, "string required")
    }
    guard let base = baseValue.numberValue.exactInt else { throw .argument(1, wholeNumber) }
    guard base >= 2 && base <= 62 else {
      throw .argument(1, "base must be a whole number between 2 and 62 inclusive")
    }
    var bytes = Array(string.utf8)
    var negative = false
    if let first = bytes.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") {
      negative = first == UInt8(ascii: "-")
      bytes.removeFirst()
    }
    let failure = HCLFunctionError.argument(0, "cannot parse \(GoQuote.quote(string)) as a base \(base) integer")
    guard !bytes.isEmpty else { throw failure }
    var magnitude = BigUInt.zero
    for byte in bytes {
      let digit: Int
      switch byte {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = Int(byte - UInt8(ascii: "0"))
      case UInt8(ascii: "a")...UInt8(ascii: "z"): digit = Int(byte - UInt8(ascii: "a")) + 10
      case UInt8(ascii: "A")...UInt8(ascii: "Z"): digit = Int(byte - UInt8(ascii: "A")) + (base <= 36 ? 10 : 36)
      default: throw failure
      }
      guard digit < base else { throw failure }
      magnitude = magnitude * BigUInt(UInt64(base)) + BigUInt(UInt64(digit))
      guard magnitude.bitWidth <= 1 << 16 else { throw failure }
    }
    // big.Float.SetInt: the precision is the integer's width, at least 64.
    return .number(
      HCLNumber.make(
        negative: negative, mantissa: magnitude, exponent: 0, precision: max(64, magnitude.bitWidth), sticky: false))
  }

  /// Packer's `sum`: the total of a list, set or tuple of numbers.
  static func sum(_ list: HCLValue) throws(HCLFunctionError) -> HCLValue {
    guard let elements = list.sequenceElements else {
      throw .general("cannot sum noniterable")
    }
    guard !elements.isEmpty else { throw .general("cannot sum an empty list") }
    var total: HCLNumber?
    for element in elements {
      guard !element.isNull else { throw .general("argument must be list, set, or tuple of number values") }
      guard case .number(let number) = try? HCLConvert.convert(element, to: .number) else {
        throw .general("argument must be list, set, or tuple of number values")
      }
      do {
        total = try total.map { try $0.adding(number) } ?? number
      } catch {
        throw .general("can't compute sum of opposing infinities")
      }
    }
    return .number(total ?? HCLNumber(0))
  }
}
