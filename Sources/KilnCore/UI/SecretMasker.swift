/// Replaces secret values with `<sensitive>` in text bound for any output (terminal, log
/// file, manifest), as Packer's secret filter does.
public struct SecretMasker: Sendable {
  public static let placeholder = "<sensitive>"
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
      out = out.replacingOccurrences(of: secret, with: Self.placeholder)
    }
    return out
  }
}

import Foundation
