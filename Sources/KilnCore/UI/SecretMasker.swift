import Foundation

/// Replaces secret values with `<sensitive>` in text bound for any output (terminal, log
/// file, manifest), as Packer's secret filter does.
///
/// The rule for short values. A secret of at least `minimumSubstringLength` characters is
/// masked wherever it appears, inside other text too. A shorter one ("1", "no", "abc") is
/// not: masked as a substring it would eat that character out of every word, number and path
/// in all output (a one-character secret made every line unreadable). A short secret is
/// masked wherever it stands as a whole token: no letter, digit or `_` right before or after
/// it. So `pin=123`, `"123"`, `'123'`, a line holding only `123`, and Kiln's own quoted
/// values (`'region' must be …, not "x"`) are all masked, while `1234` or `x123` are not
/// (they are other values). Where Kiln lists a sensitive variable (`inspect`) it prints the
/// placeholder.
public struct SecretMasker: Sendable {
  public static let placeholder = "<sensitive>"
  /// Secrets at least this long (in characters) are masked as substrings.
  public static let minimumSubstringLength = 4
  /// Longest first.
  public private(set) var secrets: [String]
  /// The same secrets, prepared for masking bytes (the one implementation of the rule).
  public private(set) var matcher = SecretMatcher([])

  public init(_ secrets: [String] = []) {
    self.secrets = []
    add(secrets)
  }

  public mutating func add(_ values: [String]) {
    secrets = Set(secrets + values.filter { !$0.isEmpty }).sorted { $0.count > $1.count }
    matcher = SecretMatcher(secrets)
  }

  public func mask(_ text: String) -> String {
    guard !matcher.isEmpty else { return text }
    var text = text
    return text.withUTF8 { bytes in
      var out: [UInt8] = []
      guard matcher.mask(UnsafeRawBufferPointer(bytes), into: &out) else { return nil }
      return String(decoding: out, as: UTF8.self)
    } ?? text
  }
}
