/// A JSON value that remembers where it stood in its file.
///
/// Kiln reads templates with its own JSON reader (`JSONReader`) instead of Foundation's,
/// because every later problem (an unknown key, a wrong type, a bad `{{ }}` expression) must
/// point at `file:line:column`, and because Packer rejects duplicate keys, which
/// `JSONSerialization` silently merges. Objects keep their members in file order.
public struct JSONNode: Sendable {
  public indirect enum Value: Sendable {
    case null
    case bool(Bool)
    /// The number's text exactly as written, so huge or precise numbers are never rounded
    /// before a configuration field decides what type it wants.
    case number(String)
    case string(String)
    case array([JSONNode])
    case object([JSONMember])
  }

  public var value: Value
  /// Where the value's first character is.
  public var location: SourceLocation
  /// The file it came from and the byte offset of its first character, for mapping positions
  /// inside a string back to the file. `nil` for values Kiln made itself (from `-var`, say).
  public var origin: (file: SourceFile, offset: Int)?
  /// How an HCL template wrote this value, when it came from one (`nil` for Packer JSON):
  /// plugins ask for a value or a block, and HCL tells the two apart where JSON cannot.
  public var hclForm: HCLForm?

  /// The syntax a value of an HCL template's plugin configuration was written in.
  public enum HCLForm: Sendable {
    /// `key = value` in a `.pkr.hcl` file.
    case attribute
    /// The list of every `key { … }` block of one type in a body, in order.
    case blocks
    /// A value of HCL's JSON syntax (`.pkr.json`), where one object may stand for one block.
    case json
  }

  public init(_ value: Value, at location: SourceLocation, origin: (SourceFile, Int)? = nil) {
    self.value = value
    self.location = location
    self.origin = origin.map { (file: $0.0, offset: $0.1) }
  }

  /// "string", "number", "object", ... for messages such as "expected a list, found a number".
  public var typeName: String {
    switch value {
    case .null: "null"
    case .bool: "boolean"
    case .number: "number"
    case .string: "string"
    case .array: "list"
    case .object: "object"
    }
  }

  /// The type with its article, for "must be a string, not an object": "an object",
  /// "a list", "a string", "a number", "a boolean", or "null".
  public var typeNameWithArticle: String {
    switch value {
    case .null: "null"
    case .object: "an object"
    default: "a \(typeName)"
    }
  }

  public var stringValue: String? {
    if case .string(let text) = value { return text }
    return nil
  }

  public var members: [JSONMember]? {
    if case .object(let members) = value { return members }
    return nil
  }

  public var elements: [JSONNode]? {
    if case .array(let elements) = value { return elements }
    return nil
  }

  public var isNull: Bool {
    if case .null = value { return true }
    return false
  }

  /// The member named `key` of an object (the first, though duplicates are rejected on load).
  public subscript(key: String) -> JSONNode? {
    members?.first { $0.key == key }?.value
  }

  /// The location of the byte `offset` of this string's *decoded* UTF-8 text, found by walking
  /// the raw JSON text and its escapes. Used to point interpolation errors at the right column.
  public func location(ofDecodedByte offset: Int) -> SourceLocation {
    guard case .string = value, let origin else { return location }
    let bytes = origin.file.bytes
    var raw = origin.offset + 1 // after the opening quote
    var decoded = 0
    while raw < bytes.count, decoded < offset, bytes[raw] != UInt8(ascii: "\"") {
      if bytes[raw] == UInt8(ascii: "\\"), raw + 1 < bytes.count {
        if bytes[raw + 1] == UInt8(ascii: "u") {
          // \uXXXX decodes to 1-3 UTF-8 bytes (a surrogate pair to 4, as two escapes); close
          // enough for a column: count the scalar's UTF-8 length.
          let hex = bytes[min(raw + 2, bytes.count)..<min(raw + 6, bytes.count)]
          let scalar = UInt32(String(decoding: hex, as: UTF8.self), radix: 16) ?? 0x41
          decoded += scalar < 0x80 ? 1 : scalar < 0x800 ? 2 : 3
          raw += 6
        } else {
          decoded += 1
          raw += 2
        }
      } else {
        decoded += 1
        raw += 1
      }
    }
    // A JSON string has no raw newline, so the position is on the string's own line: count
    // columns from the string's start only (counting from the file's start for every
    // interpolation message made validation quadratic in the file's size).
    var column = location.column
    column += SourceFile.scalarCount(bytes, origin.offset..<min(raw, bytes.count))
    return SourceLocation(path: location.path, line: location.line, column: column)
  }
}

/// One `"key": value` pair of an object, with the key's own position.
public struct JSONMember: Sendable {
  public var key: String
  public var keyLocation: SourceLocation
  public var value: JSONNode

  public init(key: String, keyLocation: SourceLocation, value: JSONNode) {
    self.key = key
    self.keyLocation = keyLocation
    self.value = value
  }
}
