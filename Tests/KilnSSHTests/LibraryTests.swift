import KilnSSH
import Testing

@Suite struct SSHLibraryTests {
  @Test func initialisesAndReportsVersion() throws {
    try SSHLibrary.ensureInitialized()
    let parts = SSHLibrary.version.split(separator: ".").compactMap { Int($0) }
    #expect(parts.count == 3)
    #expect(parts[0] == 1 && parts[1] >= 10)
  }
}
