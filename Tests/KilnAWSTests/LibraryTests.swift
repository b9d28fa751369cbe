import KilnAWS
import Testing

@Suite struct CurlLibraryTests {
  @Test func reportsVersionAndProtocols() throws {
    try CurlLibrary.ensureInitialized()
    let info = CurlLibrary.info
    #expect(info.version.split(separator: ".").count == 3)
    #expect(info.protocols.contains("https"))
    #expect(info.sslVersion?.contains("OpenSSL") == true)
  }
}
