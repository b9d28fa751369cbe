import ArgumentParser
import Foundation
import KilnAWS
import KilnCore
import KilnCrypto
import KilnSSH

/// `kiln version`. With `-machine-readable`, Packer's three records come first, as scripts
/// read them: `version` is the Packer version whose template language and CLI Kiln
/// implements (what `{{packer_version}}` returns), so a check written for Packer keeps
/// working; the `ui,say` line names Kiln's own version.
struct VersionCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "version", abstract: "Print Kiln's version and the libraries it runs on.")

  @Flag(name: [.customLong("machine-readable", withSingleDash: true)], help: "Packer's machine-readable output.")
  var machineReadable = false

  func run() throws {
    let summary = "Kiln v\(KilnVersion.kiln) (Packer v\(KilnVersion.packerCompatibility) template compatible)"
    let libraries = "libcurl \(CurlLibrary.info.version), libssh2 \(SSHLibrary.version), \(OpenSSL.version)"
    guard machineReadable else {
      print(summary)
      print(libraries)
      return
    }
    let now = Int(Date().timeIntervalSince1970)
    print(MachineReadable.line(timestamp: now, type: "version", [KilnVersion.packerCompatibility]))
    print(MachineReadable.line(timestamp: now, type: "version-prelease", [""]))
    print(MachineReadable.line(timestamp: now, type: "version-commit", [""]))
    print(MachineReadable.line(timestamp: now, type: "ui", ["say", summary]))
  }
}
