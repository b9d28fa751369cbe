/// A unified diff (`diff -u`, three lines of context) of a file and its formatted form, as
/// `packer fmt -diff` prints it.
///
/// Formatting changes only spaces and tabs, never a newline, so the two texts have the same
/// lines in the same order and line *i* of one is line *i* of the other: the diff pairs them
/// by index, which is what a longest-common-subsequence diff finds too, in linear time. (Two
/// texts of different line counts, which the formatter never makes, are shown as one hunk
/// replacing the whole file.)
enum UnifiedDiff {
  static let context = 3

  static func lines(old: [UInt8], new: [UInt8], oldLabel: String, newLabel: String) -> String {
    let before = split(old)
    let after = split(new)
    var out = "--- \(oldLabel)\n+++ \(newLabel)\n"
    guard before.count == after.count else {
      out += "@@ -\(range(1, before.count)) +\(range(1, after.count)) @@\n"
      for line in before { out += emit("-", line) }
      for line in after { out += emit("+", line) }
      return out
    }
    let changed = before.indices.filter { before[$0] != after[$0] }
    // Hunks: changes closer than two contexts apart share one.
    var hunks: [ClosedRange<Int>] = []
    for index in changed {
      if let last = hunks.last, index - last.upperBound <= 2 * context + 1 {
        hunks[hunks.count - 1] = last.lowerBound...index
      } else {
        hunks.append(index...index)
      }
    }
    for hunk in hunks {
      let start = max(0, hunk.lowerBound - context)
      let end = min(before.count - 1, hunk.upperBound + context)
      out += "@@ -\(range(start + 1, end - start + 1)) +\(range(start + 1, end - start + 1)) @@\n"
      var index = start
      while index <= end {
        guard before[index] != after[index] else {
          out += emit(" ", before[index])
          index += 1
          continue
        }
        var runEnd = index
        while runEnd <= end, before[runEnd] != after[runEnd] { runEnd += 1 }
        for line in before[index..<runEnd] { out += emit("-", line) }
        for line in after[index..<runEnd] { out += emit("+", line) }
        index = runEnd
      }
    }
    return out
  }

  /// `start,count` as diff writes it (`start` alone for one line).
  private static func range(_ start: Int, _ count: Int) -> String {
    count == 1 ? "\(start)" : count == 0 ? "\(start - 1),0" : "\(start),\(count)"
  }

  private static func emit(_ marker: String, _ line: ArraySlice<UInt8>) -> String {
    let text = String(decoding: line, as: UTF8.self)
    return line.last == UInt8(ascii: "\n") ? marker + text : marker + text + "\n\\ No newline at end of file\n"
  }

  /// Lines with their newlines.
  private static func split(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
    var lines: [ArraySlice<UInt8>] = []
    var start = 0
    for (index, byte) in bytes.enumerated() where byte == UInt8(ascii: "\n") {
      lines.append(bytes[start...index])
      start = index + 1
    }
    if start < bytes.count { lines.append(bytes[start...]) }
    return lines
  }
}
