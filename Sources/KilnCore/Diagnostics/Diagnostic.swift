/// One problem found in a template, a variable file or the command line.
///
/// Its `description` is what the user reads: `FILE:LINE:COLUMN: error: message`, or
/// `error: message` when the problem has no place in a file (a `-var` flag, say).
public struct Diagnostic: Error, Sendable, Hashable, CustomStringConvertible {
  public enum Severity: String, Sendable, Hashable, Comparable {
    case warning, error

    public static func < (lhs: Severity, rhs: Severity) -> Bool {
      lhs == .warning && rhs == .error
    }
  }

  public var severity: Severity
  public var location: SourceLocation?
  public var message: String
  /// The offending source line with a caret under the column, when the problem was found
  /// while reading the file's bytes (JSON syntax errors): printed under `description`.
  public var excerpt: SourceExcerpt?

  /// Longest message kept. Values are quoted through `Diagnostic.quote`, which bounds each;
  /// this is the backstop for a message built from unbounded text elsewhere: it is cut,
  /// and says what it cut.
  public static let maximumMessageBytes = 2048

  public init(_ severity: Severity, _ message: String, at location: SourceLocation?, excerpt: SourceExcerpt? = nil) {
    self.severity = severity
    self.message = Self.bounded(message, to: Self.maximumMessageBytes)
    self.location = location
    self.excerpt = excerpt
  }

  public static func error(_ message: String, at location: SourceLocation?) -> Diagnostic {
    Diagnostic(.error, message, at: location)
  }

  public static func warning(_ message: String, at location: SourceLocation?) -> Diagnostic {
    Diagnostic(.warning, message, at: location)
  }

  public var description: String {
    if let location { return "\(location): \(severity.rawValue): \(message)" }
    return "\(severity.rawValue): \(message)"
  }

  /// What a person reads: `description`, then the source line and its caret when known.
  public var rendered: String {
    guard let excerpt else { return description }
    return description + "\n" + excerpt.rendered
  }

  // MARK: - Bounded text

  /// Characters of a key or value quoted in a message; a longer one is cut there.
  public static let quotedCharacters = 80

  /// A key or value as a message shows it: whole when short, else its first
  /// `quotedCharacters` characters, "…" and its full size, e.g. `kkkk… (50000000 bytes)`.
  /// A 50 MB key in a template then costs a line of output, and still names its start.
  public static func quote(_ text: some StringProtocol) -> String {
    bounded(String(text), characters: quotedCharacters)
  }

  static func bounded(_ text: String, characters limit: Int) -> String {
    // `count` walks the whole string: stop at the limit instead.
    guard let cut = text.index(text.startIndex, offsetBy: limit, limitedBy: text.endIndex), cut < text.endIndex else {
      return text
    }
    return "\(text[..<cut])… (\(text.utf8.count) bytes)"
  }

  static func bounded(_ text: String, to bytes: Int) -> String {
    guard text.utf8.count > bytes else { return text }
    var kept = String.UnicodeScalarView()
    var size = 0
    for scalar in text.unicodeScalars {
      size += UTF8.width(scalar)
      if size > bytes { break }
      kept.append(scalar)
    }
    return "\(String(kept))… (message cut: \(text.utf8.count) bytes)"
  }
}

/// A source line shown under a diagnostic, with a `^` under the column, bounded in width
/// (a minified template is one long line) and with tabs kept in the caret line so that the
/// caret stands under the right character whatever the terminal's tab width.
public struct SourceExcerpt: Sendable, Hashable {
  /// The line as shown (possibly a window of it, marked with "…" at a cut end).
  public var line: String
  /// The caret line: whitespace up to the column, then `^`.
  public var caret: String

  /// Characters shown on each side of the column when the line is longer than the window.
  public static let halfWidth = 60

  /// The excerpt of `bytes`' line starting at byte `lineStart`, with the caret at byte
  /// `offset` of the file. Reads at most a window around `offset`: never the whole line.
  public init(bytes: [UInt8], lineStart: Int, offset: Int) {
    let offset = min(max(offset, lineStart), bytes.count)
    // Back from the offset at most `halfWidth` scalars (4 bytes each at most), on the line.
    var start = offset
    var before = 0
    while start > lineStart, before < Self.halfWidth {
      start -= 1
      if bytes[start] & 0xC0 != 0x80 { before += 1 }
    }
    var end = offset
    var after = 0
    while end < bytes.count, bytes[end] != 0x0A, bytes[end] != 0x0D, after <= Self.halfWidth {
      end += 1
      while end < bytes.count, bytes[end] & 0xC0 == 0x80 { end += 1 }
      after += 1
    }
    let cutEnd = end < bytes.count && bytes[end] != 0x0A && bytes[end] != 0x0D
    let prefix = Self.printable(bytes[start..<offset])
    let rest = Self.printable(bytes[offset..<end])
    let lead = start > lineStart ? "…" : ""
    line = lead + prefix + rest + (cutEnd ? "…" : "")
    caret = (lead + prefix).unicodeScalars.map { $0 == "\t" ? "\t" : " " }.joined() + "^"
  }

  /// Bytes as text for a terminal: invalid UTF-8 becomes U+FFFD, control characters other
  /// than tab become "?" (they would move the cursor and misplace the caret).
  static func printable(_ bytes: ArraySlice<UInt8>) -> String {
    let text = String(decoding: bytes, as: UTF8.self)
    return String(
      String.UnicodeScalarView(
        text.unicodeScalars.map { scalar in
          scalar == "\t" || scalar.value >= 0x20 && scalar.value != 0x7F ? scalar : "?"
        }))
  }

  /// The two lines, indented by two spaces.
  public var rendered: String { "  \(line)\n  \(caret)" }
}

/// Collects diagnostics, so a phase can report every problem it finds instead of the first.
public struct Diagnostics: Sendable {
  public private(set) var items: [Diagnostic] = []

  public init() {}

  public mutating func error(_ message: String, at location: SourceLocation?) {
    items.append(.error(message, at: location))
  }

  public mutating func warning(_ message: String, at location: SourceLocation?) {
    items.append(.warning(message, at: location))
  }

  public mutating func append(_ diagnostic: Diagnostic) { items.append(diagnostic) }

  public mutating func append(contentsOf other: Diagnostics) { items += other.items }

  public var hasErrors: Bool { items.contains { $0.severity == .error } }
  public var errors: [Diagnostic] { items.filter { $0.severity == .error } }
  public var warnings: [Diagnostic] { items.filter { $0.severity == .warning } }

  /// Sorted by file, line and column; problems without a place come first. Duplicates
  /// (the same problem reported by two phases) are dropped.
  public var sorted: [Diagnostic] {
    var seen = Set<Diagnostic>()
    let unique = items.filter { seen.insert($0).inserted }
    return unique.enumerated().sorted { a, b in
      let (la, lb) = (a.element.location, b.element.location)
      switch (la, lb) {
      case (nil, nil): return a.offset < b.offset
      case (nil, _): return true
      case (_, nil): return false
      case (let x?, let y?):
        if x.path != y.path { return a.offset < b.offset }
        if x.line != y.line { return x.line < y.line }
        if x.column != y.column { return x.column < y.column }
        return a.offset < b.offset
      }
    }.map(\.element)
  }
}

/// Thrown when a phase found errors; carries every diagnostic, warnings included.
public struct DiagnosticsError: Error, CustomStringConvertible, Sendable {
  public var diagnostics: [Diagnostic]

  public init(_ diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }

  public var description: String {
    diagnostics.map(\.description).joined(separator: "\n")
  }
}
