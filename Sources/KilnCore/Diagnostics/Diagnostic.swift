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

  public init(_ severity: Severity, _ message: String, at location: SourceLocation?) {
    self.severity = severity
    self.message = message
    self.location = location
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
      case let (x?, y?):
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
