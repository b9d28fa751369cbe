/// One problem in an HCL file or expression: HCL's summary and detail, and where it is.
///
/// `description` is the one-line form every Kiln diagnostic has, `FILE:LINE:COL: error:
/// Summary; detail`; `rendered(source:)` adds the source line with carets under the range,
/// as HCL's own diagnostics show it.
public struct HCLDiagnostic: Error, Sendable, Hashable, CustomStringConvertible {
  public enum Severity: String, Sendable, Hashable {
    case error, warning
  }

  public var severity: Severity
  public var summary: String
  public var detail: String
  /// What the problem is about (the caret goes under it).
  public var subject: HCLRange?
  /// A larger range around the subject, when it helps (the whole call, the whole block).
  public var context: HCLRange?

  public init(_ severity: Severity = .error, summary: String, detail: String, subject: HCLRange?, context: HCLRange? = nil) {
    self.severity = severity
    self.summary = summary
    self.detail = detail
    self.subject = subject
    self.context = context
  }

  static func error(_ summary: String, _ detail: String, _ subject: HCLRange?, context: HCLRange? = nil) -> HCLDiagnostic {
    HCLDiagnostic(.error, summary: summary, detail: detail, subject: subject, context: context)
  }

  /// Longest message kept: a message quoting a huge value is cut.
  static let maximumMessageBytes = 2048

  public var message: String {
    let text = detail.isEmpty ? summary : "\(summary); \(detail)"
    guard text.utf8.count > Self.maximumMessageBytes else { return text }
    var kept = ""
    for character in text {
      if kept.utf8.count + character.utf8.count > Self.maximumMessageBytes { break }
      kept.append(character)
    }
    return kept + "… (message cut: \(text.utf8.count) bytes)"
  }

  public var description: String {
    if let subject { return "\(subject.filename):\(subject.start.line):\(subject.start.column): \(severity.rawValue): \(message)" }
    return "\(severity.rawValue): \(message)"
  }

  /// `description`, then the subject's first line with `^` under the range (to the end of
  /// that line when the range goes on), bounded in width like KilnCore's excerpts.
  public func rendered(source: [UInt8]) -> String {
    guard let subject, let excerpt = HCLDiagnostic.excerpt(source: source, range: subject) else { return description }
    return description + "\n" + excerpt
  }

  /// Characters shown on each side of the range's start on a long line.
  static let halfWidth = 60

  static func excerpt(source: [UInt8], range: HCLRange) -> String? {
    let start = min(max(range.start.byte, 0), source.count)
    guard start <= source.count else { return nil }
    var lineStart = start
    while lineStart > 0, source[lineStart - 1] != UInt8(ascii: "\n") { lineStart -= 1 }
    var lineEnd = start
    while lineEnd < source.count, source[lineEnd] != UInt8(ascii: "\n"), source[lineEnd] != UInt8(ascii: "\r") { lineEnd += 1 }
    let end = min(max(range.end.byte, start), lineEnd)
    let before = printable(source[lineStart..<start])
    let inside = printable(source[start..<end])
    let after = printable(source[end..<lineEnd])
    var shownBefore = Array(before)
    var lead = ""
    if shownBefore.count > halfWidth {
      shownBefore = Array(shownBefore.suffix(halfWidth))
      lead = "…"
    }
    var shownInside = Array(inside)
    var shownAfter = Array(after)
    var tail = ""
    if shownInside.count > halfWidth {
      shownInside = Array(shownInside.prefix(halfWidth))
      shownAfter = []
      tail = "…"
    } else if shownInside.count + shownAfter.count > halfWidth {
      shownAfter = Array(shownAfter.prefix(halfWidth - shownInside.count))
      tail = "…"
    }
    let line = lead + String(shownBefore) + String(shownInside) + String(shownAfter) + tail
    let pad = (lead + String(shownBefore)).map { $0 == "\t" ? "\t" : " " }.joined()
    let carets = String(repeating: "^", count: max(1, shownInside.count))
    return "  \(line)\n  \(pad)\(carets)"
  }

  /// Bytes as text for a terminal: invalid UTF-8 as U+FFFD, control characters but tab as "?".
  static func printable(_ bytes: ArraySlice<UInt8>) -> String {
    let text = String(decoding: bytes, as: UTF8.self)
    return String(
      String.UnicodeScalarView(
        text.unicodeScalars.map { scalar in
          scalar == "\t" || scalar.value >= 0x20 && scalar.value != 0x7F ? scalar : "?"
        }))
  }
}

extension Collection where Element == HCLDiagnostic {
  public var hasErrors: Bool { contains { $0.severity == .error } }
}

/// Thrown when parsing or evaluation found errors; carries every diagnostic.
public struct HCLError: Error, Sendable, CustomStringConvertible {
  public var diagnostics: [HCLDiagnostic]
  public init(_ diagnostics: [HCLDiagnostic]) { self.diagnostics = diagnostics }
  public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}
