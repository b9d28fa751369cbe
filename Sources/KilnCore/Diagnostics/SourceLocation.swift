/// A loaded source file: its path and bytes, shared by every node parsed from it so that a
/// position inside a JSON string (an interpolation error, say) can be mapped back to the file.
public final class SourceFile: Sendable {
  /// The path as the user gave it (printed in diagnostics).
  public let path: String
  /// The raw bytes as read from disk.
  public let bytes: [UInt8]

  public init(path: String, bytes: [UInt8]) {
    self.path = path
    self.bytes = bytes
  }

  /// Line (1-based) and column (1-based, in Unicode scalars) of a byte offset.
  public func lineAndColumn(ofByte offset: Int) -> (line: Int, column: Int) {
    var line = 1
    var column = 1
    var index = 0
    let end = min(offset, bytes.count)
    while index < end {
      let byte = bytes[index]
      if byte == UInt8(ascii: "\n") {
        line += 1
        column = 1
      } else if byte & 0xC0 != 0x80 {
        column += 1
      }
      index += 1
    }
    return (line, column)
  }

  /// The text of a 1-based line, without its newline (for context in error messages).
  public func lineText(_ line: Int) -> String {
    var current = 1
    var start = 0
    for (index, byte) in bytes.enumerated() where current < line {
      if byte == UInt8(ascii: "\n") {
        current += 1
        start = index + 1
      }
    }
    guard current == line else { return "" }
    var end = start
    while end < bytes.count, bytes[end] != UInt8(ascii: "\n") { end += 1 }
    return String(decoding: bytes[start..<end], as: UTF8.self)
  }
}

/// Where something is: file, line and column (both 1-based), and the byte offset it came from.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
  public var path: String
  public var line: Int
  public var column: Int

  public init(path: String, line: Int, column: Int) {
    self.path = path
    self.line = line
    self.column = column
  }

  /// `FILE:LINE:COLUMN`, the form editors and CI annotations understand.
  public var description: String { "\(path):\(line):\(column)" }
}
