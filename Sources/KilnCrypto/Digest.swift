internal import COpenSSL
import Foundation

/// A message digest OpenSSL knows by name (`md5`, `sha1`, `sha224`, `sha256`, `sha384`,
/// `sha512`, …). Holds only the name: OpenSSL's `EVP_MD` for it is looked up when a
/// `MessageDigest` starts.
public struct DigestAlgorithm: Sendable, Hashable, CustomStringConvertible {
  public let name: String

  /// The digest called `name`, or nil when this OpenSSL has none by that name.
  public init?(named name: String) {
    guard EVP_get_digestbyname(name) != nil else { return nil }
    self.name = name
  }

  private init(known name: String) { self.name = name }

  public static let md5 = DigestAlgorithm(known: "md5")
  public static let sha1 = DigestAlgorithm(known: "sha1")
  public static let sha224 = DigestAlgorithm(known: "sha224")
  public static let sha256 = DigestAlgorithm(known: "sha256")
  public static let sha384 = DigestAlgorithm(known: "sha384")
  public static let sha512 = DigestAlgorithm(known: "sha512")

  public var description: String { name }
}

/// A running digest: the one Swift owner of an `EVP_MD_CTX`, freed when this value ends.
///
/// Feed it any number of `update`s (a file in pieces: constant memory whatever its size) and
/// `finalize` once. Not copyable, so the context has exactly one owner.
public struct MessageDigest: ~Copyable {
  public let algorithm: DigestAlgorithm
  private let context: OpaquePointer

  public init(_ algorithm: DigestAlgorithm) throws(OpenSSLError) {
    guard let md = EVP_get_digestbyname(algorithm.name) else {
      throw OpenSSLError.drain("looking up the \(algorithm) digest")
    }
    let context = try OpenSSLError.check(EVP_MD_CTX_new(), "EVP_MD_CTX_new")
    do {
      try OpenSSLError.check(EVP_DigestInit_ex(context, md, nil), "\(algorithm) init")
    } catch {
      EVP_MD_CTX_free(context)
      throw error
    }
    self.algorithm = algorithm
    self.context = context
  }

  deinit { EVP_MD_CTX_free(context) }

  /// Adds `bytes` to the digest.
  public mutating func update(_ bytes: some Collection<UInt8>) throws(OpenSSLError) {
    let result =
      bytes.withContiguousStorageIfAvailable { EVP_DigestUpdate(context, $0.baseAddress, $0.count) }
      ?? Array(bytes).withUnsafeBytes { EVP_DigestUpdate(context, $0.baseAddress, $0.count) }
    try OpenSSLError.check(result, "\(algorithm) update")
  }

  /// Adds the bytes of the file at `path`, read in 1 MiB pieces into one reused buffer
  /// (constant memory, whatever the file's size). Throws `FileReadError` when it cannot be read.
  public mutating func update(contentsOfFile path: String) throws {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { throw FileReadError(path: path, reason: String(cString: strerror(errno))) }
    defer { close(descriptor) }
    var buffer = [UInt8](repeating: 0, count: 1 << 20)
    while true {
      let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
      if count < 0, errno == EINTR { continue }
      guard count >= 0 else { throw FileReadError(path: path, reason: String(cString: strerror(errno))) }
      if count == 0 { return }
      try update(buffer[..<count])
    }
  }

  /// The digest of everything added; the context is freed after.
  public consuming func finalize() throws(OpenSSLError) -> [UInt8] {
    var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
    var length: UInt32 = 0
    try OpenSSLError.check(EVP_DigestFinal_ex(context, &output, &length), "\(algorithm) final")
    return Array(output.prefix(Int(length)))
  }
}

/// One-shot digests and HMAC-SHA256 (what SigV4 signs with), and hexadecimal.
///
/// Pure functions over bytes; every OpenSSL return code is checked and a failure keeps the
/// library's own message (`OpenSSLError`).
public enum Digest {
  /// The `algorithm` digest of `data`.
  public static func hash(_ algorithm: DigestAlgorithm, _ data: some Collection<UInt8>) throws(OpenSSLError) -> [UInt8] {
    var digest = try MessageDigest(algorithm)
    try digest.update(data)
    return try digest.finalize()
  }

  /// SHA-256 of `data`.
  public static func sha256(_ data: some Collection<UInt8>) throws(OpenSSLError) -> [UInt8] {
    try hash(.sha256, data)
  }

  /// HMAC-SHA256 of `data` under `key`. (OpenSSL's one-shot `HMAC()`: it allocates and frees
  /// its context itself, so there is no handle to own.)
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
    _ = try OpenSSLError.check(result, "HMAC-SHA256")
    return Array(output.prefix(Int(length)))
  }

  /// Lower-case hexadecimal, as SigV4 and checksum files write digests.
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
}

/// A file a digest could not read, with the system's reason.
public struct FileReadError: Error, CustomStringConvertible, Sendable {
  public var path: String
  public var reason: String
  public var description: String { "cannot read \(path): \(reason)" }
}
