import Foundation

/// A gzip stream (RFC 1952) of stored deflate blocks: valid gzip that every reader
/// inflates; smaller output than Go's compressor is not a goal of `base64gzip`.
enum Gzip {
  static func compress(_ bytes: [UInt8]) -> [UInt8] {
    var out: [UInt8] = [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 0xFF]
    var offset = 0
    repeat {
      let count = min(65_535, bytes.count - offset)
      let final: UInt8 = offset + count == bytes.count ? 1 : 0
      out.append(final)
      out += [UInt8(count & 0xFF), UInt8(count >> 8), UInt8(~count & 0xFF), UInt8((~count >> 8) & 0xFF)]
      out += bytes[offset..<offset + count]
      offset += count
    } while offset < bytes.count
    let crc = crc32(bytes)
    let size = UInt32(truncatingIfNeeded: bytes.count)
    for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: crc >> UInt32(shift))) }
    for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: size >> UInt32(shift))) }
    return out
  }

  static func crc32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
      crc ^= UInt32(byte)
      for _ in 0..<8 { crc = (crc >> 1) ^ (crc & 1 == 1 ? 0xEDB8_8320 : 0) }
    }
    return ~crc
  }
}

/// `textencodebase64` / `textdecodebase64` for the IANA encodings Kiln knows: UTF-8,
/// UTF-16 (BE, LE, or with a byte-order mark), ISO-8859-1, ISO-8859-15, windows-1252 and
/// US-ASCII, by name or alias (x/text, which Packer uses, has more; it has no UTF-32).
enum TextEncodings {
  enum Encoding: String {
    case utf8 = "UTF-8"
    case utf16 = "UTF-16"
    case utf16BE = "UTF-16BE"
    case utf16LE = "UTF-16LE"
    case latin1 = "ISO-8859-1"
    case latin9 = "ISO-8859-15"
    case windows1252 = "windows-1252"
    case ascii = "US-ASCII"
  }

  static func named(_ name: String, argument: Int) throws(HCLFunctionError) -> Encoding {
    let key = name.uppercased().replacingOccurrences(of: "_", with: "-")
    let aliases: [String: Encoding] = [
      "UTF-8": .utf8, "UTF8": .utf8, "CSUTF8": .utf8, "UTF-16": .utf16, "CSUTF16": .utf16, "UTF-16BE": .utf16BE, "CSUTF16BE": .utf16BE,
      "UTF-16LE": .utf16LE, "CSUTF16LE": .utf16LE, "ISO-8859-15": .latin9, "ISO_8859-15": .latin9, "LATIN-9": .latin9,
      "CSISO885915": .latin9, "WINDOWS-1252": .windows1252, "CSWINDOWS1252": .windows1252,
      "ISO-8859-1": .latin1, "ISO-IR-100": .latin1, "ISO-8859-1:1987": .latin1, "LATIN1": .latin1, "L1": .latin1, "IBM819": .latin1,
      "CP819": .latin1, "CSISOLATIN1": .latin1, "US-ASCII": .ascii, "ASCII": .ascii, "US": .ascii, "ANSI-X3.4-1968": .ascii,
      "ISO646-US": .ascii, "CSASCII": .ascii,
    ]
    guard let encoding = aliases[key] else {
      throw .argument(
        argument,
        "\(GoQuote.quote(name)) is not a supported IANA encoding name or alias (Kiln knows UTF-8, UTF-16, UTF-16BE, UTF-16LE, ISO-8859-1, ISO-8859-15, windows-1252 and US-ASCII)"
      )
    }
    return encoding
  }

  static func encode(_ text: String, _ name: String) throws(HCLFunctionError) -> HCLValue {
    let encoding = try named(name, argument: 1)
    var out: [UInt8] = []
    func unit16(_ value: UInt16, little: Bool) {
      out += little ? [UInt8(value & 0xFF), UInt8(value >> 8)] : [UInt8(value >> 8), UInt8(value & 0xFF)]
    }
    switch encoding {
    case .utf8: out = Array(text.utf8)
    case .utf16, .utf16BE, .utf16LE:
      // IANA's plain UTF-16 is big-endian with a byte-order mark, as x/text writes it.
      if encoding == .utf16 { unit16(0xFEFF, little: false) }
      for unit in text.utf16 { unit16(unit, little: encoding == .utf16LE) }
    case .latin1, .latin9, .windows1252, .ascii:
      let table = codePoints(encoding)
      var bytes: [UInt32: UInt8] = [:]
      for (byte, point) in table.enumerated() { if let point { bytes[point] = UInt8(byte) } }
      for scalar in text.unicodeScalars {
        guard let byte = bytes[scalar.value] else {
          throw .argument(0, "the given string contains characters that cannot be represented in \(encoding.rawValue)")
        }
        out.append(byte)
      }
    }
    return .string(EncodingFunctions.base64Encode(out))
  }

  static func decode(_ source: String, _ name: String) throws(HCLFunctionError) -> HCLValue {
    let encoding = try named(name, argument: 1)
    let bytes = try rawBase64(source)
    var scalars = String.UnicodeScalarView()
    switch encoding {
    case .utf8:
      scalars = String(decoding: bytes, as: UTF8.self).unicodeScalars
    case .utf16, .utf16BE, .utf16LE:
      var little = encoding == .utf16LE
      var body = bytes[...]
      if encoding == .utf16, body.count >= 2 {
        if body.prefix(2).elementsEqual([0xFF, 0xFE]) {
          little = true
          body = body.dropFirst(2)
        } else if body.prefix(2).elementsEqual([0xFE, 0xFF]) {
          body = body.dropFirst(2)
        }
      }
      var units: [UInt16] = []
      var i = body.startIndex
      while i + 1 < body.endIndex {
        let (a, b) = (UInt16(body[i]), UInt16(body[i + 1]))
        units.append(little ? b << 8 | a : a << 8 | b)
        i += 2
      }
      scalars = String(decoding: units, as: UTF16.self).unicodeScalars
      // A last odd byte is half a code unit: a replacement character, as x/text gives.
      if body.count % 2 == 1 { scalars.append("\u{FFFD}") }
    case .latin1, .latin9, .windows1252, .ascii:
      let table = codePoints(encoding)
      for byte in bytes { scalars.append(table[Int(byte)].flatMap(Unicode.Scalar.init) ?? "\u{FFFD}") }
    }
    return .normalized(String(scalars))
  }

  /// What each byte of a single-byte encoding stands for (nil: nothing).
  static func codePoints(_ encoding: Encoding) -> [UInt32?] {
    var table: [UInt32?] = (0..<256).map { UInt32($0) }
    switch encoding {
    case .ascii:
      for byte in 0x80..<0x100 { table[byte] = nil }
    case .latin9:
      let changes: [Int: UInt32] = [
        0xA4: 0x20AC, 0xA6: 0x0160, 0xA8: 0x0161, 0xB4: 0x017D, 0xB8: 0x017E, 0xBC: 0x0152, 0xBD: 0x0153, 0xBE: 0x0178,
      ]
      for (byte, point) in changes { table[byte] = point }
    case .windows1252:
      // 0x80...0x9F; the five bytes windows-1252 leaves undefined stand for nothing (x/text
      // decodes them as U+FFFD and encodes no character to them).
      let high: [UInt32?] = [
        0x20AC, nil, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, nil, 0x017D, nil,
        nil, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, nil, 0x017E, 0x0178,
      ]
      for (offset, point) in high.enumerated() { table[0x80 + offset] = point }
    default: break
    }
    return table
  }

  /// The bytes a base64 string stands for (`base64decode` insists they are UTF-8; here they
  /// are in the named encoding).
  static func rawBase64(_ text: String) throws(HCLFunctionError) -> [UInt8] {
    guard let data = Data(base64Encoded: text) else {
      throw .argument(0, "the given value is has an invalid base64 symbol")
    }
    return Array(data)
  }
}
