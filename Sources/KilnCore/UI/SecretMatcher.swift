/// `SecretMasker`'s rule over UTF-8 bytes, prepared once per set of secrets, so a command's
/// output can be masked line by line without making a `String` of each line.
///
/// Every occurrence of every secret is found in the original text (a long secret anywhere, a
/// short one only as a whole token, see `SecretMasker`); occurrences that overlap or touch
/// are merged, and each merged run becomes one placeholder. So no byte of any secret shows,
/// even where two secrets overlap (`abcd` and `bcdef` in `abcdef`), and the placeholder's
/// own text is never masked again.
public struct SecretMatcher: Sendable {
  struct Secret: Sendable {
    var bytes: [UInt8]
    /// A short secret: masked only with no word character on either side.
    var wholeToken: Bool
  }

  /// For each byte value, the secrets starting with it, longest first.
  private var byFirstByte: [[Secret]] = Array(repeating: [], count: 256)
  /// Whether some secret starts with the byte: the test made for every byte of the text.
  private var isFirstByte = [Bool](repeating: false, count: 256)
  public private(set) var isEmpty = true
  static let placeholder = Array(SecretMasker.placeholder.utf8)

  public init(_ secrets: [String]) {
    let prepared = Set(secrets.filter { !$0.isEmpty }).map {
      Secret(bytes: Array($0.utf8), wholeToken: $0.count < SecretMasker.minimumSubstringLength)
    }
    for secret in prepared.sorted(by: {
      $0.bytes.count > $1.bytes.count || ($0.bytes.count == $1.bytes.count && $0.bytes.lexicographicallyPrecedes($1.bytes))
    }) {
      byFirstByte[Int(secret.bytes[0])].append(secret)
      isFirstByte[Int(secret.bytes[0])] = true
      isEmpty = false
    }
  }

  /// Appends `text` to `out` with every secret replaced by the placeholder; returns whether
  /// anything was replaced.
  @discardableResult
  public func mask(_ text: UnsafeRawBufferPointer, into out: inout [UInt8]) -> Bool {
    guard !isEmpty else {
      out.append(contentsOf: text)
      return false
    }
    var copied = 0
    var run: (start: Int, end: Int)? = nil
    for position in 0..<text.count where isFirstByte[Int(text[position])] {
      for secret in byFirstByte[Int(text[position])] where Self.matches(secret, in: text, at: position) {
        let end = position + secret.bytes.count
        if let current = run, position <= current.end {
          run = (current.start, max(current.end, end))
        } else {
          if let current = run {
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: text[copied..<current.start]))
            out.append(contentsOf: Self.placeholder)
            copied = current.end
          }
          run = (position, end)
        }
        break // the longest match here covers the shorter ones
      }
    }
    guard let current = run else {
      out.append(contentsOf: text)
      return false
    }
    out.append(contentsOf: UnsafeRawBufferPointer(rebasing: text[copied..<current.start]))
    out.append(contentsOf: Self.placeholder)
    out.append(contentsOf: UnsafeRawBufferPointer(rebasing: text[current.end...]))
    return true
  }

  /// Whether some secret could start in the last bytes of `text` and go on past its end:
  /// where a piece of an over-long line may be cut without splitting a secret, at or before
  /// `text.count`.
  func safeCut(_ text: UnsafeRawBufferPointer) -> Int {
    guard !isEmpty else { return text.count }
    let longest = byFirstByte.lazy.compactMap { $0.first?.bytes.count }.max() ?? 1
    for start in max(0, text.count - longest + 1)..<text.count {
      let tail = text.count - start
      let found = byFirstByte[Int(text[start])].contains { secret in
        secret.bytes.count > tail && secret.bytes.prefix(tail).elementsEqual(UnsafeRawBufferPointer(rebasing: text[start...]))
      }
      if found { return start }
    }
    return text.count
  }

  private static func matches(_ secret: Secret, in text: UnsafeRawBufferPointer, at position: Int) -> Bool {
    let bytes = secret.bytes
    guard text.count - position >= bytes.count else { return false }
    for offset in 1..<bytes.count where text[position + offset] != bytes[offset] { return false }
    guard secret.wholeToken else { return true }
    return !isWordScalar(endingAt: position, in: text) && !isWordScalar(startingAt: position + bytes.count, in: text)
  }

  /// Whether the character ending just before `index` is a letter, a digit or `_` (false at
  /// the start of the text).
  static func isWordScalar(endingAt index: Int, in text: UnsafeRawBufferPointer) -> Bool {
    guard index > 0 else { return false }
    var start = index - 1
    while start > 0, index - start < 4, text[start] & 0xC0 == 0x80 { start -= 1 }
    return isWordScalar(startingAt: start, in: UnsafeRawBufferPointer(rebasing: text[..<index]))
  }

  /// Whether the character starting at `index` is a letter, a digit or `_` (false at the end
  /// of the text).
  static func isWordScalar(startingAt index: Int, in text: UnsafeRawBufferPointer) -> Bool {
    guard index < text.count else { return false }
    let lead = text[index]
    if lead < 0x80 {
      return (lead >= 0x30 && lead <= 0x39) || (lead | 0x20 >= 0x61 && lead | 0x20 <= 0x7A) || lead == UInt8(ascii: "_")
    }
    let length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2
    guard
      let scalar = String(decoding: UnsafeRawBufferPointer(rebasing: text[index..<min(text.count, index + length)]), as: UTF8.self).unicodeScalars
        .first
    else { return false }
    return scalar.properties.isAlphabetic || scalar.properties.numericType != nil
  }
}
