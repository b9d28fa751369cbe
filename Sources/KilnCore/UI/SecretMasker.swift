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
  /// Longest first, so a secret that contains another is masked whole.
  public private(set) var secrets: [String]

  public init(_ secrets: [String] = []) {
    self.secrets = []
    add(secrets)
  }

  public mutating func add(_ values: [String]) {
    secrets = Set(secrets + values.filter { !$0.isEmpty }).sorted { $0.count > $1.count }
  }

  public func mask(_ text: String) -> String {
    var out = text
    for secret in secrets where out.contains(secret) {
      if secret.count >= Self.minimumSubstringLength {
        out = out.replacingOccurrences(of: secret, with: Self.placeholder)
        continue
      }
      out = Self.maskWholeTokens(of: secret, in: out)
    }
    return out
  }

  /// `text` with every occurrence of `secret` that has no word character (letter, digit,
  /// `_`) on either side replaced by the placeholder.
  static func maskWholeTokens(of secret: String, in text: String) -> String {
    func isWord(_ character: Character) -> Bool { character.isLetter || character.isNumber || character == "_" }
    var out = ""
    var rest = text[...]
    while let found = rest.range(of: secret) {
      let before = found.lowerBound > text.startIndex ? text[text.index(before: found.lowerBound)] : nil
      let after = found.upperBound < text.endIndex ? text[found.upperBound] : nil
      out += rest[..<found.lowerBound]
      if before.map(isWord) != true && after.map(isWord) != true {
        out += Self.placeholder
      } else {
        out += rest[found]
      }
      rest = rest[found.upperBound...]
    }
    return out + rest
  }
}
