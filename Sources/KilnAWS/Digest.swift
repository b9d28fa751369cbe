internal import COpenSSL

/// SHA-256 and HMAC-SHA256 on OpenSSL's EVP interface: the primitives SigV4 signs with.
///
/// Pure functions over bytes; every OpenSSL return code is checked and a failure keeps the
/// library's own message (`OpenSSLError`).
public enum Digest {
  /// SHA-256 of `data`.
  public static func sha256(_ data: some Collection<UInt8>) throws(OpenSSLError) -> [UInt8] {
    guard let context = EVP_MD_CTX_new() else { throw OpenSSLError.drain("EVP_MD_CTX_new") }
    defer { EVP_MD_CTX_free(context) }
    try OpenSSLError.check(EVP_DigestInit_ex(context, EVP_sha256(), nil), "SHA-256 init")
    let bytes = Array(data)
    let updated = bytes.withUnsafeBytes { EVP_DigestUpdate(context, $0.baseAddress, $0.count) }
    try OpenSSLError.check(updated, "SHA-256 update")
    var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
    var length: UInt32 = 0
    try OpenSSLError.check(EVP_DigestFinal_ex(context, &output, &length), "SHA-256 final")
    return Array(output.prefix(Int(length)))
  }

  /// HMAC-SHA256 of `data` under `key`.
  public static func hmacSHA256(
    key: some Collection<UInt8>, data: some Collection<UInt8>
  ) throws(OpenSSLError) -> [UInt8] {
    let keyBytes = Array(key)
    let dataBytes = Array(data)
    var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
    var length: UInt32 = 0
    let result = keyBytes.withUnsafeBytes { keyBuffer in
      dataBytes.withUnsafeBytes { dataBuffer in
        HMAC(
          EVP_sha256(), keyBuffer.baseAddress, Int32(keyBuffer.count),
          dataBuffer.baseAddress?.assumingMemoryBound(to: UInt8.self), dataBuffer.count,
          &output, &length)
      }
    }
    // HMAC() returns NULL on failure; an empty key has a nil base address but is valid.
    guard result != nil else { throw OpenSSLError.drain("HMAC-SHA256") }
    return Array(output.prefix(Int(length)))
  }

  /// Lower-case hexadecimal, as SigV4 writes digests and signatures.
  public static func hex(_ bytes: some Sequence<UInt8>) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    out.reserveCapacity(64)
    for byte in bytes {
      out.append(digits[Int(byte >> 4)])
      out.append(digits[Int(byte & 0x0f)])
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// The OpenSSL version string this process runs with, e.g. "OpenSSL 3.0.19 ...".
  public static var libraryVersion: String {
    String(cString: OpenSSL_version(OPENSSL_VERSION))
  }
}
