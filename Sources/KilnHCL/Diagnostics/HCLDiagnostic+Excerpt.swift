extension HCLDiagnostic {
  /// The excerpt `rendered(source:)` shows under the one-line form, as its two lines without
  /// their indentation: the source line, and the carets under the subject's range. For a
  /// caller that prints the one-line form itself (Kiln's `Diagnostic`).
  public func excerptLines(source: [UInt8]) -> (line: String, carets: String)? {
    guard let range = subject ?? context, let text = Self.excerpt(source: source, range: range) else { return nil }
    let parts = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
    guard parts.count == 2 else { return nil }
    return (String(parts[0].dropFirst(2)), String(parts[1].dropFirst(2)))
  }
}
