import Foundation
import KilnCrypto

/// Packer's hash, bcrypt and UUID functions (go-cty-funcs `crypto` and `uuid`). Digests and
/// randomness come from KilnCrypto (OpenSSL); bcrypt's Blowfish is here.
enum CryptoFunctions {
  /// `md5`, `sha1`, `sha256`, `sha512`: the lower-case hex digest of the string's UTF-8.
  static func hexDigest(_ algorithm: DigestAlgorithm, _ text: String) throws(HCLFunctionError) -> HCLValue {
    .string(Digest.hex(try digest(algorithm, Array(text.utf8))))
  }

  static func digest(_ algorithm: DigestAlgorithm, _ bytes: [UInt8]) throws(HCLFunctionError) -> [UInt8] {
    do {
      return try Digest.hash(algorithm, bytes)
    } catch {
      throw .general("\(algorithm) failed: \(error)")
    }
  }

  static func random(_ count: Int) throws(HCLFunctionError) -> [UInt8] {
    do {
      return try OpenSSL.randomBytes(count)
    } catch {
      throw .general("no random bytes: \(error)")
    }
  }

  /// `rsadecrypt(ciphertext, privatekey)`: base64 ciphertext, PKCS #1 v1.5, a PEM RSA key.
  static func rsadecrypt(_ ciphertext: String, _ pem: String) throws(HCLFunctionError) -> HCLValue {
    guard let data = Data(base64Encoded: ciphertext) else {
      throw .general("failed to decode input \(GoQuote.quote(ciphertext)): cipher text must be base64-encoded")
    }
    let key: PrivateKey
    do {
      key = try PrivateKey(pem: pem)
    } catch {
      throw .general("invalid private key: \(error)")
    }
    var plaintext: [UInt8]
    do {
      plaintext = try key.decryptRSAPKCS1(Array(data))
    } catch {
      throw .general("failed to decrypt: \(error)")
    }
    defer { OpenSSL.cleanse(&plaintext) }
    guard let text = String(validating: plaintext, as: UTF8.self) else {
      throw .general("the decrypted value is not valid UTF-8")
    }
    return .normalized(text)
  }

  // MARK: - UUIDs

  static func uuidText(_ bytes: [UInt8]) -> String {
    let hex = Digest.hex(bytes)
    let parts = [(0, 8), (8, 12), (12, 16), (16, 20), (20, 32)].map { start, end in
      String(hex[hex.index(hex.startIndex, offsetBy: start)..<hex.index(hex.startIndex, offsetBy: end)])
    }
    return parts.joined(separator: "-")
  }

  static func uuidv4() throws(HCLFunctionError) -> HCLValue {
    var bytes = try random(16)
    bytes[6] = (bytes[6] & 0x0F) | 0x40
    bytes[8] = (bytes[8] & 0x3F) | 0x80
    return .string(uuidText(bytes))
  }

  /// RFC 4122's name spaces, by the names go-cty-funcs accepts, or any UUID.
  static let namespaces: [String: String] = [
    "dns": "6ba7b810-9dad-11d1-80b4-00c04fd430c8", "url": "6ba7b811-9dad-11d1-80b4-00c04fd430c8",
    "oid": "6ba7b812-9dad-11d1-80b4-00c04fd430c8", "x500": "6ba7b814-9dad-11d1-80b4-00c04fd430c8",
  ]

  static func uuidBytes(_ text: String) -> [UInt8]? {
    var hex = Array(text.utf8)
    if hex.count == 38, hex.first == UInt8(ascii: "{"), hex.last == UInt8(ascii: "}") { hex = Array(hex.dropFirst().dropLast()) }
    if hex.count == 45, String(decoding: hex.prefix(9), as: UTF8.self).lowercased() == "urn:uuid:" { hex = Array(hex.dropFirst(9)) }
    guard hex.count == 36, [8, 13, 18, 23].allSatisfy({ hex[$0] == UInt8(ascii: "-") }) else { return nil }
    let digits = hex.filter { $0 != UInt8(ascii: "-") }
    guard digits.count == 32 else { return nil }
    var bytes: [UInt8] = []
    for pair in stride(from: 0, to: 32, by: 2) {
      guard let high = hexValue(digits[pair]), let low = hexValue(digits[pair + 1]) else { return nil }
      bytes.append(high << 4 | low)
    }
    return bytes
  }

  private static func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
    default: nil
    }
  }

  static func uuidv5(_ namespace: String, _ name: String) throws(HCLFunctionError) -> HCLValue {
    guard let space = uuidBytes(namespaces[namespace] ?? namespace) else {
      throw .general("uuidv5() doesn't support namespace \(namespace)")
    }
    var bytes = Array(try digest(.sha1, space + Array(name.utf8)).prefix(16))
    bytes[6] = (bytes[6] & 0x0F) | 0x50
    bytes[8] = (bytes[8] & 0x3F) | 0x80
    return .string(uuidText(bytes))
  }

  // MARK: - bcrypt

  static let maximumCost = 16

  /// `bcrypt(str, cost = 10)`: a `$2a$` hash with a random salt, as Go's x/crypto makes one.
  static func bcrypt(_ arguments: [HCLValue]) throws(HCLFunctionError) -> HCLValue {
    var cost = 10
    if arguments.count > 2 { throw .general("bcrypt() takes no more than two arguments") }
    if arguments.count == 2 {
      guard case .number(let number) = arguments[1], let whole = number.exactInt else {
        throw .argument(1, "cost must be a whole number")
      }
      cost = whole
    }
    // x/crypto: a cost below the minimum is the default one; above 31 is an error.
    if cost < 4 { cost = 10 }
    guard cost <= 31 else {
      throw .general("error occured generating password crypto/bcrypt: cost \(cost) is outside allowed range (4,31)")
    }
    // Each step doubles the work: past `maximumCost` a template would stall the run for minutes.
    guard cost <= maximumCost else {
      throw .argument(1, "Kiln computes bcrypt costs up to \(maximumCost) (each step doubles the time; \(cost) would take minutes or more)")
    }
    let password = Array(arguments[0].stringValue.utf8)
    guard password.count <= 72 else { throw .general("error occured generating password bcrypt: password length exceeds 72 bytes") }
    let salt = try random(16)
    return .string(Bcrypt.hash(password: password, salt: salt, cost: cost))
  }
}

/// bcrypt (Provos and Mazières): EksBlowfish over the password and a 16-byte salt, then
/// "OrpheanBeholderScryDoubt" encrypted 64 times; `$2a$CC$` + salt (22) + hash (31) in
/// bcrypt's own base64.
enum Bcrypt {
  static let alphabet = Array("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)

  static func encode(_ bytes: [UInt8]) -> String {
    var out: [UInt8] = []
    var i = 0
    while i < bytes.count {
      let b0 = Int(bytes[i])
      let b1 = i + 1 < bytes.count ? Int(bytes[i + 1]) : 0
      let b2 = i + 2 < bytes.count ? Int(bytes[i + 2]) : 0
      out.append(alphabet[b0 >> 2])
      out.append(alphabet[(b0 & 0x03) << 4 | b1 >> 4])
      if i + 1 < bytes.count { out.append(alphabet[(b1 & 0x0F) << 2 | b2 >> 6]) }
      if i + 2 < bytes.count { out.append(alphabet[b2 & 0x3F]) }
      i += 3
    }
    return String(decoding: out, as: UTF8.self)
  }

  static func hash(password: [UInt8], salt: [UInt8], cost: Int) -> String {
    let key = password + [0]
    var state = BlowfishConstants.digitsOfPi
    state.withUnsafeMutableBufferPointer { s in
      expand(s, key: key, salt: salt)
      for _ in 0..<(1 << cost) {
        expand(s, key: key, salt: nil)
        expand(s, key: salt, salt: nil)
      }
    }
    var text = Array("OrpheanBeholderScryDoubt".utf8)
    var words: [UInt32] = []
    for i in stride(from: 0, to: 24, by: 4) {
      var word: UInt32 = 0
      for byte in text[i..<i + 4] { word = word << 8 | UInt32(byte) }
      words.append(word)
    }
    state.withUnsafeMutableBufferPointer { s in
      for _ in 0..<64 {
        for pair in stride(from: 0, to: 6, by: 2) {
          (words[pair], words[pair + 1]) = encrypt(s, words[pair], words[pair + 1])
        }
      }
    }
    text = []
    for word in words {
      for shift in [UInt32(24), 16, 8, 0] { text.append(UInt8(truncatingIfNeeded: word >> shift)) }
    }
    let costText = cost < 10 ? "0\(cost)" : "\(cost)"
    return "$2a$\(costText)$" + encode(salt) + encode(Array(text.prefix(23)))
  }

  private static func word(_ data: [UInt8], _ position: inout Int) -> UInt32 {
    var value: UInt32 = 0
    for _ in 0..<4 {
      value = value << 8 | UInt32(data[position])
      position = (position + 1) % data.count
    }
    return value
  }

  /// Blowfish's F over the S-boxes at 18, 274, 530, 786.
  @inline(__always)
  private static func f(_ s: UnsafeMutableBufferPointer<UInt32>, _ x: UInt32) -> UInt32 {
    let a: UInt32 = s[18 + Int(x >> 24)]
    let b: UInt32 = s[274 + Int((x >> 16) & 0xFF)]
    let c: UInt32 = s[530 + Int((x >> 8) & 0xFF)]
    let d: UInt32 = s[786 + Int(x & 0xFF)]
    return ((a &+ b) ^ c) &+ d
  }

  private static func encrypt(_ s: UnsafeMutableBufferPointer<UInt32>, _ left: UInt32, _ right: UInt32) -> (UInt32, UInt32) {
    var l = left
    var r = right
    for i in stride(from: 0, to: 16, by: 2) {
      l ^= s[i]
      r ^= f(s, l)
      r ^= s[i + 1]
      l ^= f(s, r)
    }
    l ^= s[16]
    r ^= s[17]
    return (r, l)
  }

  /// Blowfish's key schedule, with bcrypt's salt folded into the blocks when there is one.
  private static func expand(_ s: UnsafeMutableBufferPointer<UInt32>, key: [UInt8], salt: [UInt8]?) {
    var position = 0
    for i in 0..<18 { s[i] ^= word(key, &position) }
    var l: UInt32 = 0
    var r: UInt32 = 0
    var saltPosition = 0
    for i in stride(from: 0, to: s.count, by: 2) {
      if let salt {
        l ^= word(salt, &saltPosition)
        r ^= word(salt, &saltPosition)
      }
      (l, r) = encrypt(s, l, r)
      s[i] = l
      s[i + 1] = r
    }
  }
}
