/// Encodings: base64, URL query escaping, CSV and JSON, with Go's rules (what Packer's
/// functions are built on).
enum EncodingFunctions {
  private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

  static func base64Encode(_ bytes: [UInt8]) -> String {
    var out: [UInt8] = []
    out.reserveCapacity((bytes.count + 2) / 3 * 4)
    var index = 0
    while index < bytes.count {
      let b0 = bytes[index]
      let b1 = index + 1 < bytes.count ? bytes[index + 1] : 0
      let b2 = index + 2 < bytes.count ? bytes[index + 2] : 0
      out.append(alphabet[Int(b0 >> 2)])
      out.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
      out.append(index + 1 < bytes.count ? alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)] : UInt8(ascii: "="))
      out.append(index + 2 < bytes.count ? alphabet[Int(b2 & 0x3F)] : UInt8(ascii: "="))
      index += 3
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// Standard base64 with padding; the result must be UTF-8 (an HCL string).
  static func base64Decode(_ text: String) throws(HCLFunctionError) -> HCLValue {
    var lookup = [UInt8: UInt8]()
    for (value, character) in alphabet.enumerated() { lookup[character] = UInt8(value) }
    let input = Array(text.utf8).filter { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") }
    let failure = HCLFunctionError.general("failed to decode base64 data \(GoQuote.quote(text))")
    guard input.count % 4 == 0 else { throw failure }
    var out: [UInt8] = []
    var index = 0
    while index < input.count {
      let chunk = input[index..<(index + 4)]
      let padding = chunk.reversed().prefix(while: { $0 == UInt8(ascii: "=") }).count
      guard padding <= 2, index + 4 == input.count || padding == 0 else { throw failure }
      var values: [UInt8] = []
      for character in chunk.prefix(4 - padding) {
        guard let value = lookup[character] else { throw failure }
        values.append(value)
      }
      while values.count < 4 { values.append(0) }
      let bytes = [values[0] << 2 | values[1] >> 4, (values[1] & 0x0F) << 4 | values[2] >> 2, (values[2] & 0x03) << 6 | values[3]]
      out += bytes.prefix(3 - padding)
      index += 4
    }
    guard let decoded = String(validating: out, as: UTF8.self) else {
      throw .general("the result of decoding the provided string is not valid UTF-8")
    }
    return .normalized(decoded)
  }

  /// Go's `url.QueryEscape`: unreserved bytes kept, space as `+`, the rest `%XX`.
  static func urlEncode(_ text: String) -> String {
    var out = ""
    for byte in text.utf8 {
      switch byte {
      case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
        UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
        out.unicodeScalars.append(Unicode.Scalar(byte))
      case UInt8(ascii: " "):
        out += "+"
      default:
        let hex = String(byte, radix: 16, uppercase: true)
        out += "%" + (hex.count == 1 ? "0" : "") + hex
      }
    }
    return out
  }

  /// Go's `url.QueryUnescape`.
  static func urlDecode(_ text: String) throws(HCLFunctionError) -> HCLValue {
    let bytes = Array(text.utf8)
    var out: [UInt8] = []
    var index = 0
    while index < bytes.count {
      switch bytes[index] {
      case UInt8(ascii: "+"):
        out.append(UInt8(ascii: " "))
        index += 1
      case UInt8(ascii: "%"):
        guard index + 2 < bytes.count, let value = UInt8(String(decoding: bytes[(index + 1)...(index + 2)], as: UTF8.self), radix: 16) else {
          let escape = String(decoding: bytes[index..<min(index + 3, bytes.count)], as: UTF8.self)
          throw .general("invalid URL escape \(GoQuote.quote(escape))")
        }
        out.append(value)
        index += 3
      default:
        out.append(bytes[index])
        index += 1
      }
    }
    return .normalized(String(decoding: out, as: UTF8.self))
  }

  // MARK: - CSV

  /// cty's `csvdecode`: a header line, then rows of as many fields; a list of objects.
  static func csvDecode(_ text: String, _ limits: EvalLimits) throws(HCLFunctionError) -> HCLValue {
    let records: [[String]]
    do {
      records = try CSVReader.read(Array(text.utf8), limit: limits.elements)
    } catch {
      throw .general(error.message)
    }
    guard let header = records.first else { throw .general("missing header line") }
    var seen = Set<String>()
    for name in header {
      guard seen.insert(name).inserted else { throw .general("duplicate column name \(GoQuote.quote(name))") }
    }
    let type = HCLType.object(Dictionary(uniqueKeysWithValues: header.map { ($0, HCLType.string) }))
    let rows = records.dropFirst().map { record -> HCLValue in
      .object(Dictionary(uniqueKeysWithValues: zip(header, record).map { ($0, HCLValue.normalized($1)) }))
    }
    return .list(Array(rows), elementType: type)
  }

  struct CSVError: Error {
    var message: String
  }

  /// Go's encoding/csv reader with its defaults: comma-separated, quotes doubled inside quoted
  /// fields, blank lines skipped, every record as long as the first.
  enum CSVReader {
    static func read(_ bytes: [UInt8], limit: Int) throws(CSVError) -> [[String]] {
      var records: [[String]] = []
      var index = 0
      var line = 1
      var expected: Int?
      while index < bytes.count {
        // Blank lines are skipped.
        if bytes[index] == UInt8(ascii: "\n") {
          index += 1
          line += 1
          continue
        }
        if bytes[index] == UInt8(ascii: "\r"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "\n") {
          index += 2
          line += 1
          continue
        }
        let recordLine = line
        var fields: [String] = []
        var field: [UInt8] = []
        var endOfRecord = false
        while !endOfRecord {
          field = []
          if index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
            index += 1
            let quoteLine = line
            while true {
              guard index < bytes.count else {
                throw CSVError(message: "CSV parse error on line \(quoteLine): extraneous or missing \" in quoted-field")
              }
              let byte = bytes[index]
              if byte == UInt8(ascii: "\"") {
                if index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "\"") {
                  field.append(byte)
                  index += 2
                  continue
                }
                index += 1
                break
              }
              if byte == UInt8(ascii: "\n") { line += 1 }
              if byte == UInt8(ascii: "\r"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "\n") {
                index += 1
                continue
              }
              field.append(byte)
              index += 1
            }
            if index < bytes.count, bytes[index] != UInt8(ascii: ","), bytes[index] != UInt8(ascii: "\n"),
              !(bytes[index] == UInt8(ascii: "\r") && index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "\n"))
            {
              throw CSVError(message: "CSV parse error on line \(line): extraneous or missing \" in quoted-field")
            }
          } else {
            while index < bytes.count, bytes[index] != UInt8(ascii: ","), bytes[index] != UInt8(ascii: "\n") {
              if bytes[index] == UInt8(ascii: "\r"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "\n") { break }
              if bytes[index] == UInt8(ascii: "\"") {
                throw CSVError(message: "CSV parse error on line \(line): bare \" in non-quoted-field")
              }
              field.append(bytes[index])
              index += 1
            }
          }
          fields.append(String(decoding: field, as: UTF8.self))
          if index < bytes.count, bytes[index] == UInt8(ascii: ",") {
            index += 1
            continue
          }
          if index < bytes.count, bytes[index] == UInt8(ascii: "\r") { index += 1 }
          if index < bytes.count, bytes[index] == UInt8(ascii: "\n") {
            index += 1
            line += 1
          }
          endOfRecord = true
        }
        if let expected, fields.count != expected {
          throw CSVError(message: "CSV parse error on line \(recordLine): wrong number of fields")
        }
        expected = fields.count
        records.append(fields)
        if records.count > limit { throw CSVError(message: "the CSV data has too many rows") }
      }
      return records
    }
  }

  // MARK: - JSON

  static func jsonEncode(_ value: HCLValue) throws(HCLFunctionError) -> HCLValue {
    guard value.isWhollyKnown else { throw .general("value is not known") }
    var out = ""
    encode(value, into: &out)
    return .string(out)
  }

  private static func encode(_ value: HCLValue, into out: inout String) {
    switch value {
    case .null, .unknown: out += "null"
    case .string(let s): out += JSONText.quote(s)
    case .number(let n): out += n.description
    case .bool(let b): out += b ? "true" : "false"
    case .list(let elements, _), .set(let elements, _), .tuple(let elements):
      out += "["
      for (index, element) in elements.enumerated() {
        if index > 0 { out += "," }
        encode(element, into: &out)
      }
      out += "]"
    case .map(let elements, _), .object(let elements):
      out += "{"
      for (index, key) in HCLValue.sortedKeys(elements).enumerated() {
        if index > 0 { out += "," }
        out += JSONText.quote(key) + ":"
        encode(elements[key] ?? .dynamicNull, into: &out)
      }
      out += "}"
    }
  }

  /// cty's `jsondecode`: objects become objects, arrays tuples; duplicate keys are errors.
  static func jsonDecode(_ text: String) throws(HCLFunctionError) -> HCLValue {
    let (node, diagnostics) = JSONSyntax.parse(Array(text.utf8), filename: "<jsondecode>")
    if let first = diagnostics.first(where: { $0.severity == .error }) {
      throw .general(first.detail.isEmpty ? first.summary : first.summary + ": " + first.detail)
    }
    return try decoded(node)
  }

  private static func decoded(_ node: JSONNode) throws(HCLFunctionError) -> HCLValue {
    switch node.kind {
    case .string(let s): return .string(s)
    case .number(let n): return .number(n)
    case .bool(let b): return .bool(b)
    case .null, .invalid: return .dynamicNull
    case .array(let elements, _):
      var values: [HCLValue] = []
      for element in elements { values.append(try decoded(element)) }
      return .tuple(values)
    case .object(let properties, _, _):
      var attributes: [String: HCLValue] = [:]
      // A repeated key: the last one wins, as in cty.
      for property in properties { attributes[property.name] = try decoded(property.value) }
      return .object(attributes)
    }
  }
}
