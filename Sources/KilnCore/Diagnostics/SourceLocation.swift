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

  /// The Unicode scalars in `range` of UTF-8 `bytes` (bytes that are not continuation bytes):
  /// the width of a column span.
  static func scalarCount(_ bytes: [UInt8], _ range: Range<Int>) -> Int {
    bytes.withUnsafeBufferPointer { buffer in
      var count = 0
      for index in range where buffer[index] & 0xC0 != 0x80 { count += 1 }
      return count
    }
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
