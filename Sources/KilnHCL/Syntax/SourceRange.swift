/// A position in a source file: byte offset (0-based), line and column (1-based). Columns
/// count grapheme clusters, as HCL's own positions do, so a column under a multi-byte
/// character still points at it; a tab counts as one column.
public struct HCLPosition: Sendable, Hashable, Comparable, CustomStringConvertible {
  public var byte: Int
  public var line: Int
  public var column: Int

  public init(byte: Int, line: Int, column: Int) {
    self.byte = byte
    self.line = line
    self.column = column
  }

  public static let start = HCLPosition(byte: 0, line: 1, column: 1)

  public static func < (lhs: HCLPosition, rhs: HCLPosition) -> Bool { lhs.byte < rhs.byte }

  public var description: String { "\(line):\(column)" }
}

/// A range of a source file, from `start` up to (not including) `end`.
public struct HCLRange: Sendable, Hashable, CustomStringConvertible {
  public var filename: String
  public var start: HCLPosition
  public var end: HCLPosition

  public init(filename: String, start: HCLPosition, end: HCLPosition) {
    self.filename = filename
    self.start = start
    self.end = end
  }

  /// The smallest range covering both (HCL's `RangeBetween`).
  public static func between(_ a: HCLRange, _ b: HCLRange) -> HCLRange {
    HCLRange(filename: a.filename, start: min(a.start, b.start), end: max(a.end, b.end))
  }

  /// An empty range at `position`.
  public static func empty(_ filename: String, at position: HCLPosition) -> HCLRange {
    HCLRange(filename: filename, start: position, end: position)
  }

  /// `FILE:LINE:COLUMN` of the start.
  public var description: String { "\(filename):\(start.line):\(start.column)" }
}
