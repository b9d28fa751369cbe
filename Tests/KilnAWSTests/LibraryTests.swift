import KilnAWS
import Testing

@Suite struct OpenSSLDigestTests {
  // RFC 4231 test case 2 and FIPS 180-2's "abc".
  @Test func hmacSHA256KnownAnswer() throws {
    let mac = try Digest.hmacSHA256(key: Array("Jefe".utf8), data: Array("what do ya want for nothing?".utf8))
    #expect(Digest.hex(mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
  }

  @Test func sha256KnownAnswers() throws {
    #expect(Digest.hex(try Digest.sha256(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    #expect(Digest.hex(try Digest.sha256([UInt8]())) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
  }

  @Test func hmacWithEmptyKeyAndData() throws {
    // RFC 2104 allows both empty; the known answer for HMAC-SHA256("", "").
    let mac = try Digest.hmacSHA256(key: [UInt8](), data: [UInt8]())
    #expect(Digest.hex(mac) == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad")
  }
}

@Suite struct CurlLibraryTests {
  @Test func reportsVersionAndProtocols() throws {
    try CurlLibrary.ensureInitialized()
    let info = CurlLibrary.info
    #expect(info.version.split(separator: ".").count == 3)
    #expect(info.protocols.contains("https"))
    #expect(info.sslVersion?.contains("OpenSSL") == true)
  }
}
