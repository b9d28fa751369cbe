/// An arbitrary-precision unsigned integer: the mantissa of `HCLNumber`.
///
/// Little-endian 32-bit limbs with no leading zero limbs (zero is the empty array), so that a
/// 64-bit product or dividend never overflows. Only what binary floating point needs is here:
/// shifts, addition, subtraction, multiplication, division with remainder, and decimal text.
struct BigUInt: Sendable, Hashable, Comparable {
  private(set) var limbs: [UInt32]

  static let zero = BigUInt(limbs: [])
  static let one = BigUInt(1)

  init(limbs: [UInt32]) {
    self.limbs = limbs
    normalize()
  }

  init(_ value: UInt64) {
    var limbs: [UInt32] = []
    var rest = value
    while rest != 0 {
      limbs.append(UInt32(truncatingIfNeeded: rest))
      rest >>= 32
    }
    self.limbs = limbs
  }

  private mutating func normalize() {
    while let last = limbs.last, last == 0 { limbs.removeLast() }
  }

  var isZero: Bool { limbs.isEmpty }

  /// The number of significant bits (0 for zero).
  var bitWidth: Int {
    guard let top = limbs.last else { return 0 }
    return limbs.count * 32 - top.leadingZeroBitCount
  }

  /// The number of zero bits below the lowest set bit (0 for zero).
  var trailingZeroBitCount: Int {
    for (index, limb) in limbs.enumerated() where limb != 0 {
      return index * 32 + limb.trailingZeroBitCount
    }
    return 0
  }

  func bit(_ index: Int) -> Bool {
    guard index >= 0 else { return false }
    let limb = index / 32
    guard limb < limbs.count else { return false }
    return limbs[limb] >> UInt32(index % 32) & 1 == 1
  }

  /// True when any bit below `index` is set.
  func hasBits(below index: Int) -> Bool {
    guard index > 0 else { return false }
    let whole = min(index / 32, limbs.count)
    for limb in limbs[0..<whole] where limb != 0 { return true }
    let part = index % 32
    if part != 0, whole < limbs.count, limbs[whole] & ((1 << UInt32(part)) - 1) != 0 { return true }
    return false
  }

  /// The value as a UInt64 when it fits.
  var uint64: UInt64? {
    switch limbs.count {
    case 0: return 0
    case 1: return UInt64(limbs[0])
    case 2: return UInt64(limbs[1]) << 32 | UInt64(limbs[0])
    default: return nil
    }
  }

  static func < (lhs: BigUInt, rhs: BigUInt) -> Bool { compare(lhs, rhs) < 0 }

  static func compare(_ lhs: BigUInt, _ rhs: BigUInt) -> Int {
    if lhs.limbs.count != rhs.limbs.count { return lhs.limbs.count < rhs.limbs.count ? -1 : 1 }
    var index = lhs.limbs.count - 1
    while index >= 0 {
      let (a, b) = (lhs.limbs[index], rhs.limbs[index])
      if a != b { return a < b ? -1 : 1 }
      index -= 1
    }
    return 0
  }

  static func << (value: BigUInt, shift: Int) -> BigUInt {
    guard shift > 0, !value.isZero else { return shift < 0 ? value >> -shift : value }
    let whole = shift / 32
    let part = UInt32(shift % 32)
    var result = [UInt32](repeating: 0, count: whole)
    result.reserveCapacity(whole + value.limbs.count + 1)
    if part == 0 {
      result.append(contentsOf: value.limbs)
    } else {
      var carry: UInt32 = 0
      for limb in value.limbs {
        result.append(limb << part | carry)
        carry = limb >> (32 - part)
      }
      if carry != 0 { result.append(carry) }
    }
    return BigUInt(limbs: result)
  }

  static func >> (value: BigUInt, shift: Int) -> BigUInt {
    guard shift > 0 else { return shift < 0 ? value << -shift : value }
    let whole = shift / 32
    guard whole < value.limbs.count else { return .zero }
    let part = UInt32(shift % 32)
    var result = Array(value.limbs[whole...])
    if part != 0 {
      for index in result.indices {
        let high = index + 1 < result.count ? result[index + 1] << (32 - part) : 0
        result[index] = result[index] >> part | high
      }
    }
    return BigUInt(limbs: result)
  }

  static func + (lhs: BigUInt, rhs: BigUInt) -> BigUInt {
    let (long, short) = lhs.limbs.count >= rhs.limbs.count ? (lhs.limbs, rhs.limbs) : (rhs.limbs, lhs.limbs)
    var result = [UInt32]()
    result.reserveCapacity(long.count + 1)
    var carry: UInt64 = 0
    for index in long.indices {
      let sum = UInt64(long[index]) + (index < short.count ? UInt64(short[index]) : 0) + carry
      result.append(UInt32(truncatingIfNeeded: sum))
      carry = sum >> 32
    }
    if carry != 0 { result.append(UInt32(carry)) }
    return BigUInt(limbs: result)
  }

  /// `lhs - rhs`; the caller guarantees `lhs >= rhs` (a smaller `lhs` gives zero).
  static func - (lhs: BigUInt, rhs: BigUInt) -> BigUInt {
    guard compare(lhs, rhs) > 0 else { return .zero }
    var result = lhs.limbs
    var borrow: Int64 = 0
    for index in result.indices {
      var difference = Int64(result[index]) - borrow - (index < rhs.limbs.count ? Int64(rhs.limbs[index]) : 0)
      borrow = 0
      if difference < 0 {
        difference += 1 << 32
        borrow = 1
      }
      result[index] = UInt32(difference)
      if borrow == 0, index >= rhs.limbs.count { break }
    }
    return BigUInt(limbs: result)
  }

  static func * (lhs: BigUInt, rhs: BigUInt) -> BigUInt {
    guard !lhs.isZero, !rhs.isZero else { return .zero }
    var result = [UInt32](repeating: 0, count: lhs.limbs.count + rhs.limbs.count)
    for (i, a) in lhs.limbs.enumerated() where a != 0 {
      var carry: UInt64 = 0
      for (j, b) in rhs.limbs.enumerated() {
        let product = UInt64(a) * UInt64(b) + UInt64(result[i + j]) + carry
        result[i + j] = UInt32(truncatingIfNeeded: product)
        carry = product >> 32
      }
      var k = i + rhs.limbs.count
      while carry != 0 {
        let sum = UInt64(result[k]) + carry
        result[k] = UInt32(truncatingIfNeeded: sum)
        carry = sum >> 32
        k += 1
      }
    }
    return BigUInt(limbs: result)
  }

  /// Quotient and remainder by a single limb.
  func quotientAndRemainder(dividingBy divisor: UInt32) -> (quotient: BigUInt, remainder: UInt32) {
    precondition(divisor != 0, "division by zero")
    var result = limbs
    var remainder: UInt64 = 0
    var index = result.count - 1
    while index >= 0 {
      let current = remainder << 32 | UInt64(result[index])
      result[index] = UInt32(current / UInt64(divisor))
      remainder = current % UInt64(divisor)
      index -= 1
    }
    return (BigUInt(limbs: result), UInt32(remainder))
  }

  /// Quotient and remainder (Knuth's algorithm D over 32-bit limbs).
  func quotientAndRemainder(dividingBy divisor: BigUInt) -> (quotient: BigUInt, remainder: BigUInt) {
    precondition(!divisor.isZero, "division by zero")
    if BigUInt.compare(self, divisor) < 0 { return (.zero, self) }
    if divisor.limbs.count == 1 {
      let (q, r) = quotientAndRemainder(dividingBy: divisor.limbs[0])
      return (q, BigUInt(UInt64(r)))
    }
    let shift = divisor.limbs[divisor.limbs.count - 1].leadingZeroBitCount
    let v = (divisor << shift).limbs
    var u = (self << shift).limbs
    if u.count == limbs.count { u.append(0) }
    if u.count < limbs.count + 1 { u.append(0) }
    let n = v.count
    let m = u.count - n - 1
    var q = [UInt32](repeating: 0, count: m + 1)
    let base: UInt64 = 1 << 32
    var j = m
    while j >= 0 {
      let numerator = UInt64(u[j + n]) << 32 | UInt64(u[j + n - 1])
      var qhat = numerator / UInt64(v[n - 1])
      var rhat = numerator % UInt64(v[n - 1])
      while qhat >= base || qhat * UInt64(v[n - 2]) > (rhat << 32 | UInt64(u[j + n - 2])) {
        qhat -= 1
        rhat += UInt64(v[n - 1])
        if rhat >= base { break }
      }
      var borrow: Int64 = 0
      var carry: UInt64 = 0
      for i in 0..<n {
        let product = qhat * UInt64(v[i]) + carry
        carry = product >> 32
        let difference = Int64(u[i + j]) - borrow - Int64(product & 0xFFFF_FFFF)
        u[i + j] = UInt32(truncatingIfNeeded: difference)
        borrow = difference < 0 ? 1 : 0
      }
      let top = Int64(u[j + n]) - borrow - Int64(carry)
      u[j + n] = UInt32(truncatingIfNeeded: top)
      if top < 0 {
        qhat -= 1
        var addCarry: UInt64 = 0
        for i in 0..<n {
          let sum = UInt64(u[i + j]) + UInt64(v[i]) + addCarry
          u[i + j] = UInt32(truncatingIfNeeded: sum)
          addCarry = sum >> 32
        }
        u[j + n] = UInt32(truncatingIfNeeded: UInt64(u[j + n]) + addCarry)
      }
      q[j] = UInt32(truncatingIfNeeded: qhat)
      j -= 1
    }
    let remainder = BigUInt(limbs: Array(u[0..<n])) >> shift
    return (BigUInt(limbs: q), remainder)
  }

  /// `5^exponent`, exactly.
  static func powerOfFive(_ exponent: Int) -> BigUInt {
    var result = BigUInt.one
    var base = BigUInt(5)
    var rest = exponent
    while rest > 0 {
      if rest & 1 == 1 { result = result * base }
      rest >>= 1
      if rest > 0 { base = base * base }
    }
    return result
  }

  /// Decimal digits ("0" for zero).
  var decimalString: String {
    guard !isZero else { return "0" }
    var chunks: [UInt32] = []
    var rest = self
    while !rest.isZero {
      let (q, r) = rest.quotientAndRemainder(dividingBy: 1_000_000_000)
      chunks.append(r)
      rest = q
    }
    var text = String(chunks.removeLast())
    for chunk in chunks.reversed() {
      let digits = String(chunk)
      text += String(repeating: "0", count: 9 - digits.count) + digits
    }
    return text
  }

  /// The value of ASCII decimal digits (the caller checked they are digits).
  init(decimalDigits digits: some Collection<UInt8>) {
    var value = BigUInt.zero
    var chunk: UInt32 = 0
    var chunkDigits = 0
    let powers: [UInt32] = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000]
    for digit in digits {
      chunk = chunk * 10 + UInt32(digit - 0x30)
      chunkDigits += 1
      if chunkDigits == 9 {
        value = value * BigUInt(UInt64(powers[9])) + BigUInt(UInt64(chunk))
        chunk = 0
        chunkDigits = 0
      }
    }
    if chunkDigits > 0 { value = value * BigUInt(UInt64(powers[chunkDigits])) + BigUInt(UInt64(chunk)) }
    self = value
  }
}
