import Foundation

/// Packer's IP network functions (go-cty-funcs `cidr`, over apparentlymart/go-cidr):
/// `cidrhost`, `cidrnetmask`, `cidrsubnet`, `cidrsubnets`, for IPv4 and IPv6.
enum CIDRFunctions {
  /// A parsed prefix: the address as a 128-bit number (IPv4 in the low 32 bits), its width
  /// and the prefix length.
  struct Prefix {
    var address: UInt128
    var bits: Int // 32 or 128
    var length: Int

    var hostBits: Int { bits - length }
    var network: UInt128 {
      let hostMask: UInt128 = hostBits >= 128 ? ~0 : (UInt128(1) << hostBits) - 1
      return address & ~hostMask
    }
    var text: String { CIDRFunctions.addressText(network, bits: bits) + "/\(length)" }
  }

  /// Go's `net.ParseCIDR`, with go-cty-funcs' message.
  static func parse(_ text: String, argument: Int = 0) throws(HCLFunctionError) -> Prefix {
    let invalid = HCLFunctionError.argument(argument, "invalid CIDR expression: invalid CIDR address: \(text)")
    guard let slash = text.firstIndex(of: "/") else { throw invalid }
    let addressPart = String(text[..<slash])
    let lengthPart = text[text.index(after: slash)...]
    guard let (address, bits) = parseAddress(addressPart), !lengthPart.isEmpty, lengthPart.count <= 3,
      lengthPart.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let length = Int(lengthPart), length <= bits
    else { throw invalid }
    return Prefix(address: address, bits: bits, length: length)
  }

  static func parseAddress(_ text: String) -> (UInt128, Int)? {
    if !text.contains(":") { return parseIPv4(text).map { (UInt128($0), 32) } }
    return parseIPv6(text).map { ($0, 128) }
  }

  static func parseIPv4(_ text: String) -> UInt32? {
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 4 else { return nil }
    var value: UInt32 = 0
    for part in parts {
      guard !part.isEmpty, part.count <= 3, part.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let octet = UInt32(part), octet <= 255,
        part.count == 1 || part.first != "0"
      else { return nil }
      value = value << 8 | octet
    }
    return value
  }

  static func parseIPv6(_ text: String) -> UInt128? {
    var groups: [UInt16] = []
    var tail: [UInt16] = []
    var sawDoubleColon = false
    let halves = text.components(separatedBy: "::")
    guard halves.count <= 2 else { return nil }
    func read(_ part: String) -> [UInt16]? {
      if part.isEmpty { return [] }
      var out: [UInt16] = []
      let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
      for (index, piece) in pieces.enumerated() {
        if index == pieces.count - 1, piece.contains(".") {
          guard let v4 = parseIPv4(String(piece)) else { return nil }
          out += [UInt16(v4 >> 16), UInt16(v4 & 0xFFFF)]
          continue
        }
        guard !piece.isEmpty, piece.count <= 4, let value = UInt16(piece, radix: 16) else { return nil }
        out.append(value)
      }
      return out
    }
    guard let head = read(halves[0]) else { return nil }
    groups = head
    if halves.count == 2 {
      sawDoubleColon = true
      guard let rest = read(halves[1]) else { return nil }
      tail = rest
    }
    let count = groups.count + tail.count
    if sawDoubleColon {
      guard count < 8 else { return nil }
      groups += Array(repeating: 0, count: 8 - count) + tail
    } else {
      guard count == 8 else { return nil }
    }
    return groups.reduce(UInt128(0)) { $0 << 16 | UInt128($1) }
  }

  /// Go's `net.IP.String`: dotted quads for IPv4, RFC 5952 for IPv6.
  static func addressText(_ address: UInt128, bits: Int) -> String {
    if bits == 32 {
      return (0..<4).map { String((address >> (24 - 8 * $0)) & 0xFF) }.joined(separator: ".")
    }
    let groups = (0..<8).map { UInt16(truncatingIfNeeded: address >> (112 - 16 * $0)) }
    // The longest run of two or more zero groups (the first one of equal runs) becomes "::".
    var bestStart = -1
    var bestLength = 1
    var i = 0
    while i < 8 {
      if groups[i] == 0 {
        var j = i
        while j < 8, groups[j] == 0 { j += 1 }
        if j - i > bestLength {
          bestStart = i
          bestLength = j - i
        }
        i = j
      } else {
        i += 1
      }
    }
    if bestStart < 0 { return groups.map { String($0, radix: 16) }.joined(separator: ":") }
    let head = groups[..<bestStart].map { String($0, radix: 16) }.joined(separator: ":")
    let tail = groups[(bestStart + bestLength)...].map { String($0, radix: 16) }.joined(separator: ":")
    return head + "::" + tail
  }

  static func whole(_ value: HCLValue, _ argument: Int) throws(HCLFunctionError) -> Int {
    guard case .number(let number) = value, let whole = number.exactInt else {
      throw .argument(argument, "value must be a whole number, between -9223372036854775808 and 9223372036854775807")
    }
    return whole
  }

  static func cidrhost(_ prefixText: String, _ hostValue: HCLValue) throws(HCLFunctionError) -> HCLValue {
    let prefix = try parse(prefixText)
    let requested = try whole(hostValue, 1)
    let maximum: UInt128 = prefix.hostBits >= 128 ? ~0 : (UInt128(1) << prefix.hostBits) - 1
    var host: UInt128
    if requested < 0 {
      let back = UInt128(requested.magnitude) - 1
      guard back <= maximum else {
        throw .general("prefix of \(prefix.length) does not accommodate a host numbered \(requested)")
      }
      host = maximum - back
    } else {
      host = UInt128(requested)
      guard host <= maximum else { throw .general("prefix of \(prefix.length) does not accommodate a host numbered \(requested)") }
    }
    host |= prefix.network
    return .string(addressText(host, bits: prefix.bits))
  }

  static func cidrnetmask(_ prefixText: String) throws(HCLFunctionError) -> HCLValue {
    let prefix = try parse(prefixText)
    let ones: UInt128 = prefix.length == 0 ? 0 : ~UInt128(0) << (128 - prefix.length)
    let mask = prefix.bits == 32 ? (ones >> 96) : ones
    return .string(addressText(mask, bits: prefix.bits))
  }

  static func subnet(_ prefix: Prefix, newBits: Int, number: Int) throws(HCLFunctionError) -> Prefix {
    guard newBits >= 0, prefix.length + newBits <= prefix.bits else {
      throw .general("insufficient address space to extend prefix of \(prefix.length) by \(newBits)")
    }
    let maximum: UInt128 = newBits >= 128 ? ~0 : (UInt128(1) << newBits) - 1
    guard number >= 0, UInt128(number) <= maximum else {
      throw .general("prefix extension of \(newBits) does not accommodate a subnet numbered \(number)")
    }
    let length = prefix.length + newBits
    let shift = prefix.bits - length
    let address = prefix.network | (shift >= 128 ? 0 : UInt128(number) << shift)
    return Prefix(address: address, bits: prefix.bits, length: length)
  }

  static func cidrsubnet(_ prefixText: String, _ newBitsValue: HCLValue, _ numberValue: HCLValue) throws(HCLFunctionError) -> HCLValue {
    let prefix = try parse(prefixText)
    let newBits = try whole(newBitsValue, 1)
    let number = try whole(numberValue, 2)
    if newBits > 32 { throw .argument(1, "may not extend prefix by more than 32 bits") }
    return .string(try subnet(prefix, newBits: newBits, number: number).text)
  }

  /// Consecutive subnets, each aligned to its own size, after the one before.
  static func cidrsubnets(_ arguments: [HCLValue]) throws(HCLFunctionError) -> HCLValue {
    let prefix = try parse(arguments[0].stringValue)
    var results: [HCLValue] = []
    var next = prefix.network
    var exhausted = false
    for (index, value) in arguments.dropFirst().enumerated() {
      let newBits = try whole(value, index + 1)
      guard newBits >= 1 else { throw .argument(index + 1, "must extend prefix by at least one bit") }
      let length = prefix.length + newBits
      guard length <= prefix.bits else {
        throw .argument(
          index + 1,
          "would extend prefix to \(length) bits, which is too long for an \(prefix.bits == 32 ? "IPv4" : "IPv6") address")
      }
      let size: UInt128 = UInt128(1) << (prefix.bits - length)
      // Align up to this subnet's size.
      var start = next
      if start % size != 0 { start = (start / size + 1) * size }
      let end = start &+ (size - 1)
      let parentEnd = prefix.network | (prefix.hostBits >= 128 ? ~0 : (UInt128(1) << prefix.hostBits) - 1)
      guard !exhausted, end <= parentEnd, end >= start else {
        let previous = results.last.map { $0.stringValue } ?? prefix.text
        throw .argument(index + 1, "not enough remaining address space for a subnet with a prefix of \(length) bits after \(previous)")
      }
      results.append(.string(Prefix(address: start, bits: prefix.bits, length: length).text))
      exhausted = end == parentEnd
      next = end &+ 1
    }
    return .list(results, elementType: .string)
  }
}
