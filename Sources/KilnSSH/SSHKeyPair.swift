import Foundation
public import KilnCrypto

/// An SSH key pair Kiln generated for one build (an EC2 "temporary key pair").
///
/// Ed25519, generated with OpenSSL: libssh2 1.10 signs RSA keys only with SHA-1 (`ssh-rsa`),
/// which OpenSSH 8.8 and later refuse, while ed25519 works with every current server. The
/// private key lives in memory; `write(to:)` puts it on disk only when asked (`-debug`),
/// with mode 0600.
public struct SSHKeyPair: Sendable {
  /// The OpenSSH public key line, `ssh-ed25519 AAAA… comment`, for EC2 ImportKeyPair and
  /// `authorized_keys`.
  public let publicKeyLine: String
  /// The private key in OpenSSH's format (`-----BEGIN OPENSSH PRIVATE KEY-----`), which
  /// libssh2 reads from memory. Never logged.
  public let privateKeyPEM: String
  /// `SHA256:…`, as `ssh-keygen -l` prints it.
  public let fingerprint: String

  /// Generates a new ed25519 key pair.
  public static func generateEd25519(comment: String = "kiln") throws(SSHKeyError) -> SSHKeyPair {
    do throws(OpenSSLError) {
      let key = try PrivateKey.generateEd25519()
      let publicKey = try key.rawPublicKey()
      var seed = try key.rawPrivateKey()
      defer { OpenSSL.cleanse(&seed) }
      guard publicKey.count == 32, seed.count == 32 else {
        throw OpenSSLError(operation: "ed25519 key generation (raw keys of \(publicKey.count) and \(seed.count) bytes, not 32)", queue: [])
      }
      return try SSHKeyPair(ed25519Public: publicKey, seed: seed, check: try OpenSSL.randomBytes(4), comment: comment)
    } catch {
      throw .openSSL(error)
    }
  }

  init(ed25519Public publicKey: [UInt8], seed: [UInt8], check: [UInt8], comment: String) throws(OpenSSLError) {
    var blob = SSHWire()
    blob.string("ssh-ed25519")
    blob.string(publicKey)
    publicKeyLine = "ssh-ed25519 \(Data(blob.bytes).base64EncodedString()) \(comment)"

    fingerprint = "SHA256:" + Data(try Digest.sha256(blob.bytes)).base64EncodedString().replacingOccurrences(of: "=", with: "")

    // openssh-key-v1, unencrypted (PROTOCOL.key in OpenSSH's sources describes the layout).
    var secret = SSHWire()
    secret.raw(check)
    secret.raw(check)
    secret.string("ssh-ed25519")
    secret.string(publicKey)
    secret.string(seed + publicKey)
    secret.string(comment)
    var pad: UInt8 = 1
    while secret.bytes.count % 8 != 0 {
      secret.raw([pad])
      pad += 1
    }
    var file = SSHWire()
    file.raw(Array("openssh-key-v1".utf8) + [0])
    file.string("none")
    file.string("none")
    file.string([UInt8]())
    file.uint32(1)
    file.string(blob.bytes)
    file.string(secret.bytes)
    let body = Data(file.bytes).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
    privateKeyPEM = "-----BEGIN OPENSSH PRIVATE KEY-----\n\(body)\n-----END OPENSSH PRIVATE KEY-----\n"
    secret.wipe()
    file.wipe()
  }

  /// Writes the private key to `path` with mode 0600 (for `-debug`), refusing to overwrite.
  public func write(to path: String) throws {
    try Self.writePrivateKey(privateKeyPEM, to: path, replacing: false)
  }

  /// Writes a private key (this type's, or one EC2 created) to `path`, created with mode
  /// 0600 so it is never readable by others, not even for a moment.
  public static func writePrivateKey(_ pem: String, to path: String, replacing: Bool) throws {
    let descriptor = open(path, O_WRONLY | O_CREAT | (replacing ? O_TRUNC : O_EXCL), 0o600)
    guard descriptor >= 0 else {
      throw SSHKeyError.file("cannot create \(path): \(String(cString: strerror(errno)))")
    }
    defer { close(descriptor) }
    let bytes = Array(pem.utf8)
    guard Foundation.write(descriptor, bytes, bytes.count) == bytes.count else {
      throw SSHKeyError.file("cannot write \(path): \(String(cString: strerror(errno)))")
    }
  }
}

public enum SSHKeyError: Error, CustomStringConvertible, Sendable {
  /// Generating the key failed; OpenSSL's own words are in the error.
  case openSSL(OpenSSLError)
  case file(String)

  public var description: String {
    switch self {
    case .openSSL(let error): "key generation failed: \(error)"
    case .file(let message): message
    }
  }
}

/// SSH's wire encoding (RFC 4251): big-endian uint32 lengths before strings.
struct SSHWire {
  var bytes: [UInt8] = []

  mutating func uint32(_ value: UInt32) {
    bytes += [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
  }

  mutating func string(_ value: [UInt8]) {
    uint32(UInt32(value.count))
    bytes += value
  }

  mutating func string(_ value: String) { string(Array(value.utf8)) }

  mutating func raw(_ value: [UInt8]) { bytes += value }

  mutating func wipe() {
    for index in bytes.indices { bytes[index] = 0 }
  }
}
