import Foundation
import KilnCrypto
import Testing

@Suite struct DigestTests {
  // FIPS 180-2's "abc", and the digests of nothing.
  @Test func sha256KnownAnswers() throws {
    #expect(Digest.hex(try Digest.sha256(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    #expect(Digest.hex(try Digest.sha256([UInt8]())) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
  }

  @Test(arguments: [
    (DigestAlgorithm.md5, "900150983cd24fb0d6963f7d28e17f72"),
    (.sha1, "a9993e364706816aba3e25717850c26c9cd0d89d"),
    (.sha224, "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7"),
    (.sha384, "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"),
    (.sha512, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"),
  ])
  func knownAnswersOfABC(_ algorithm: DigestAlgorithm, _ expected: String) throws {
    #expect(Digest.hex(try Digest.hash(algorithm, Array("abc".utf8))) == expected)
  }

  @Test func namesOpenSSLDoesNotKnowAreNil() {
    #expect(DigestAlgorithm(named: "sha256")?.name == "sha256")
    #expect(DigestAlgorithm(named: "crc-not-a-digest") == nil)
  }

  /// Fed in uneven pieces, the streaming digest equals the one-shot one.
  @Test(arguments: [DigestAlgorithm.md5, .sha1, .sha256, .sha512])
  func streamingEqualsOneShot(_ algorithm: DigestAlgorithm) throws {
    let data = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
    var digest = try MessageDigest(algorithm)
    var start = 0
    var piece = 1
    while start < data.count {
      let end = min(data.count, start + piece)
      try digest.update(data[start..<end])
      start = end
      piece = piece * 3 + 1
    }
    #expect(try digest.finalize() == Digest.hash(algorithm, data))
  }

  // RFC 4231 test case 2.
  @Test func hmacSHA256KnownAnswer() throws {
    let mac = try Digest.hmacSHA256(key: Array("Jefe".utf8), data: Array("what do ya want for nothing?".utf8))
    #expect(Digest.hex(mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
  }

  // RFC 4231 test case 6: a key longer than the block size is hashed first.
  @Test func hmacSHA256LongKey() throws {
    let mac = try Digest.hmacSHA256(
      key: [UInt8](repeating: 0xaa, count: 131), data: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8))
    #expect(Digest.hex(mac) == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
  }

  @Test func hmacWithEmptyKeyAndData() throws {
    // RFC 2104 allows both empty; the known answer for HMAC-SHA256("", "").
    let mac = try Digest.hmacSHA256(key: [UInt8](), data: [UInt8]())
    #expect(Digest.hex(mac) == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad")
  }
}

@Suite struct PrivateKeyTests {
  /// A generated ed25519 key written as PEM reads back as the same key.
  @Test func ed25519RoundTripsThroughPEM() throws {
    let key = try PrivateKey.generateEd25519()
    let publicKey = try key.rawPublicKey()
    var seed = try key.rawPrivateKey()
    defer { OpenSSL.cleanse(&seed) }
    #expect(publicKey.count == 32)
    #expect(seed.count == 32)
    let pem = try key.pem()
    #expect(pem.hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
    let again = try PrivateKey(pem: pem)
    #expect(try again.rawPublicKey() == publicKey)
    #expect(try again.rawPrivateKey() == seed)
    #expect(try PrivateKey.generateEd25519().rawPublicKey() != publicKey)
  }

  /// A garbage PEM fails with OpenSSL's own reason, not just "it failed".
  @Test func garbagePEMKeepsOpenSSLsReason() throws {
    let garbage = "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5IGF0IGFsbA==\n-----END PRIVATE KEY-----\n"
    let error = #expect(throws: OpenSSLError.self) { _ = try PrivateKey(pem: garbage) }
    #expect(error?.operation == "reading a PEM private key")
    #expect(error?.queue.isEmpty == false)
    #expect(error?.queue.allSatisfy { $0.hasPrefix("error:") } == true, "\(String(describing: error))")
    #expect(error?.description.contains("routines:") == true, "\(String(describing: error))")
  }

  /// Each failure drains the queue: the next error carries only its own reasons.
  @Test func theQueueIsDrainedByEachError() throws {
    let first = #expect(throws: OpenSSLError.self) { _ = try PrivateKey(pem: "no PEM here") }
    let second = #expect(throws: OpenSSLError.self) { _ = try PrivateKey(pem: "no PEM here") }
    #expect(first?.queue == second?.queue)
    #expect(try Digest.sha256(Array("abc".utf8)).count == 32)
  }
}

@Suite struct OpenSSLTests {
  @Test func versionAndRandomBytes() throws {
    #expect(OpenSSL.version.hasPrefix("OpenSSL 3"))
    let a = try OpenSSL.randomBytes(16)
    #expect(a.count == 16)
    #expect(try OpenSSL.randomBytes(16) != a)
    var secret: [UInt8] = [1, 2, 3]
    OpenSSL.cleanse(&secret)
    #expect(secret == [0, 0, 0])
  }
}
