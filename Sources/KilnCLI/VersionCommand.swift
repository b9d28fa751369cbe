import ArgumentParser
import KilnAWS
import KilnCore
import KilnCrypto
import KilnSSH

struct VersionCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "version", abstract: "Print Kiln's version and the libraries it runs on.")

  func run() throws {
    print("Kiln v\(KilnVersion.kiln) (Packer \(KilnVersion.packerCompatibility) template compatible)")
    print("libcurl \(CurlLibrary.info.version), libssh2 \(SSHLibrary.version), \(OpenSSL.version)")
  }
}
