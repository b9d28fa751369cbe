internal import COpenSSL

/// The process's OpenSSL: its version, random bytes, and wiping secrets from memory.
public enum OpenSSL {
  /// The OpenSSL version string this process runs with, e.g. "OpenSSL 3.0.19 ...".
  public static var version: String {
    String(cString: OpenSSL_version(OPENSSL_VERSION))
  }

  /// `count` bytes from OpenSSL's CSPRNG.
  public static func randomBytes(_ count: Int) throws(OpenSSLError) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    try OpenSSLError.check(RAND_bytes(&bytes, Int32(count)), "RAND_bytes")
    return bytes
  }

  /// Overwrites `bytes` with zeros in a way the compiler may not elide (`OPENSSL_cleanse`).
  public static func cleanse(_ bytes: inout [UInt8]) {
    bytes.withUnsafeMutableBytes { OPENSSL_cleanse($0.baseAddress, $0.count) }
  }
}
