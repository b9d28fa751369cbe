import Foundation
import KilnSSH
import Testing
import _KilnTestSupport

@Suite struct SSHKeyPairTests {
  func run(_ arguments: [String]) async throws -> (Int32, String) {
    try await TestCommand.run(arguments)
  }

  /// OpenSSH's own tool reads the private key and derives the same public key and fingerprint.
  @Test func opensshAgreesWithTheKeyWeGenerated() async throws {
    let key = try SSHKeyPair.generateEd25519(comment: "kiln-test")
    #expect(key.publicKeyLine.hasPrefix("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA"))
    #expect(key.privateKeyPEM.hasPrefix("-----BEGIN OPENSSH PRIVATE KEY-----\n"))
    let path = try Scratch.directory("kiln-key").appendingPathComponent("key").path
    try key.write(to: path)
    let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
    #expect(mode == 0o600)
    #expect(throws: SSHKeyError.self) { try key.write(to: path) }
    let (status, derived) = try await run(["ssh-keygen", "-y", "-f", path])
    #expect(status == 0, "\(derived)")
    #expect(derived.split(separator: " ").prefix(2) == key.publicKeyLine.split(separator: " ").prefix(2))
    let (_, listing) = try await run(["ssh-keygen", "-l", "-f", path])
    #expect(listing.contains(key.fingerprint), "\(listing) vs \(key.fingerprint)")
    #expect(listing.contains("ED25519"))
  }

  @Test func everyKeyIsNew() throws {
    let a = try SSHKeyPair.generateEd25519()
    let b = try SSHKeyPair.generateEd25519()
    #expect(a.publicKeyLine != b.publicKeyLine)
    #expect(a.privateKeyPEM != b.privateKeyPEM)
  }
}
