/// Replaces secret values with `<sensitive>` in text bound for any output (terminal, log
/// file, manifest), as Packer's secret filter does.
///
/// The rule for short values. A secret of at least `minimumSubstringLength` characters is
/// masked wherever it appears, inside other text too. A shorter one ("1", "no", "abc") is
/// not: masked as a substring it would eat that character out of every word, number and path
/// in all output (a one-character secret made every line unreadable) while hiding nothing, as
/// so short a value is guessed in a few tries. A short secret is masked only where it stands
/// whole:
/// - the whole text, or a whole line of it (a script that prints the value alone);
/// - a whole quoted token, `"x"`, `'x'` or `` `x` ``: that is how Kiln's own messages quote
///   a value (`'region' must be …, not "x"`), so Kiln never prints a short secret itself
///   either; where Kiln lists a sensitive variable (`inspect`) it prints the placeholder.
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
      for quote in ["\"", "'", "`"] {
        out = out.replacingOccurrences(of: quote + secret + quote, with: quote + Self.placeholder + quote)
      }
      if out.contains("\n") {
        out = out.split(separator: "\n", omittingEmptySubsequences: false)
          .map { $0 == secret ? Self.placeholder : String($0) }.joined(separator: "\n")
      } else if out == secret {
        out = Self.placeholder
      }
    }
    return out
  }
}

import Foundation
