internal import COpenSSL

/// A private key: the one Swift owner of an `EVP_PKEY`, freed when this value ends.
///
/// Kiln generates ed25519 keys for temporary key pairs (`SSHKeyPair` writes them in OpenSSH's
/// format from the raw bytes read here) and reads PEM keys. Not copyable, so the key has
/// exactly one owner.
public struct PrivateKey: ~Copyable {
  private let key: OpaquePointer

  private init(owning key: OpaquePointer) { self.key = key }

  deinit { EVP_PKEY_free(key) }

  /// A new ed25519 key from OpenSSL's CSPRNG.
  public static func generateEd25519() throws(OpenSSLError) -> PrivateKey {
    let context = try OpenSSLError.check(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nil), "EVP_PKEY_CTX_new_id(ed25519)")
    defer { EVP_PKEY_CTX_free(context) }
    try OpenSSLError.check(EVP_PKEY_keygen_init(context), "EVP_PKEY_keygen_init")
    var key: OpaquePointer?
    try OpenSSLError.check(EVP_PKEY_keygen(context, &key), "EVP_PKEY_keygen")
    return PrivateKey(owning: try OpenSSLError.check(key, "EVP_PKEY_keygen"))
  }

  /// Reads a PEM private key (PKCS#8, or a traditional RSA/EC one), unencrypted.
  public init(pem: String) throws(OpenSSLError) {
    let key = try MemoryBIO.reading(Array(pem.utf8)) { bio throws(OpenSSLError) in
      try OpenSSLError.check(PEM_read_bio_PrivateKey(bio, nil, nil, nil), "reading a PEM private key")
    }
    self.init(owning: key)
  }

  /// The key in PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), unencrypted.
  public func pem() throws(OpenSSLError) -> String {
    try MemoryBIO.writing { bio throws(OpenSSLError) in
      try OpenSSLError.check(
        PEM_write_bio_PrivateKey(bio, key, nil, nil, 0, nil, nil), "writing a PEM private key")
    }
  }

  /// The raw public key (32 bytes for ed25519).
  public func rawPublicKey() throws(OpenSSLError) -> [UInt8] {
    try raw("EVP_PKEY_get_raw_public_key") { EVP_PKEY_get_raw_public_key(key, $0, $1) }
  }

  /// The raw private key (the 32-byte seed for ed25519). Secret: wipe it with
  /// `OpenSSL.cleanse` when done.
  public func rawPrivateKey() throws(OpenSSLError) -> [UInt8] {
    try raw("EVP_PKEY_get_raw_private_key") { EVP_PKEY_get_raw_private_key(key, $0, $1) }
  }

  /// Decrypts an RSA ciphertext with PKCS #1 v1.5 padding (what Packer's `rsadecrypt` and
  /// Go's `rsa.DecryptPKCS1v15` take). Secret: wipe the result with `OpenSSL.cleanse`.
  public func decryptRSAPKCS1(_ ciphertext: [UInt8]) throws(OpenSSLError) -> [UInt8] {
    guard EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA else {
      throw OpenSSLError(operation: "RSA decryption (the key is not an RSA key)", queue: [])
    }
    let context = try OpenSSLError.check(EVP_PKEY_CTX_new(key, nil), "EVP_PKEY_CTX_new")
    defer { EVP_PKEY_CTX_free(context) }
    try OpenSSLError.check(EVP_PKEY_decrypt_init(context), "EVP_PKEY_decrypt_init")
    try OpenSSLError.check(EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_PADDING), "EVP_PKEY_CTX_set_rsa_padding")
    var length = 0
    try OpenSSLError.check(EVP_PKEY_decrypt(context, nil, &length, ciphertext, ciphertext.count), "EVP_PKEY_decrypt")
    var plaintext = [UInt8](repeating: 0, count: length)
    try OpenSSLError.check(EVP_PKEY_decrypt(context, &plaintext, &length, ciphertext, ciphertext.count), "EVP_PKEY_decrypt")
    return Array(plaintext.prefix(length))
  }

  /// Asks for the length first, then the bytes.
  private func raw(
    _ operation: String, _ call: (UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<Int>) -> Int32
  ) throws(OpenSSLError) -> [UInt8] {
    var length = 0
    try OpenSSLError.check(call(nil, &length), operation)
    var bytes = [UInt8](repeating: 0, count: length)
    try OpenSSLError.check(call(&bytes, &length), operation)
    return Array(bytes.prefix(length))
  }
}

/// The one Swift owner of a memory `BIO`, for PEM in and out: freed on every exit path.
enum MemoryBIO {
  /// Runs `body` with a read-only BIO over `bytes`.
  static func reading<T>(_ bytes: [UInt8], _ body: (OpaquePointer) throws(OpenSSLError) -> T) throws(OpenSSLError) -> T {
    // `withUnsafeBytes` rethrows untyped; a Result carries the typed error through it.
    let result = bytes.withUnsafeBytes { buffer in
      Result { () throws(OpenSSLError) -> T in
        let bio = try OpenSSLError.check(BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)), "BIO_new_mem_buf")
        defer { BIO_free(bio) }
        return try body(bio)
      }
    }
    return try result.get()
  }

  /// Runs `body` with an empty writable BIO and returns what it wrote, as text.
  static func writing(_ body: (OpaquePointer) throws(OpenSSLError) -> Void) throws(OpenSSLError) -> String {
    let bio = try OpenSSLError.check(BIO_new(BIO_s_mem()), "BIO_new")
    defer { BIO_free(bio) }
    try body(bio)
    // BIO_get_mem_data is a macro over BIO_ctrl(BIO_CTRL_INFO).
    var data: UnsafeMutablePointer<CChar>?
    let length = BIO_ctrl(bio, BIO_CTRL_INFO, 0, &data)
    guard length >= 0 else { throw OpenSSLError.drain("reading a memory BIO") }
    guard let data, length > 0 else { return "" }
    return data.withMemoryRebound(to: UInt8.self, capacity: length) {
      String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
    }
  }
}
