public import Foundation

/// A real OpenSSH sshd on loopback (see `sshd_server.py`), accepting the public keys written
/// to `authorizedKeys` for the user running the tests.
public final class SSHServer: @unchecked Sendable {
  public let server: LoopbackServer
  public let authorizedKeys: URL
  public var port: Int { server.port }
  public var user: String { server.info["user"] as? String ?? "" }
  public var hostKeyFingerprint: String { server.info["host_key_fingerprint"] as? String ?? "" }
  /// sshd's own process id (not the launcher's), for killing it mid-transfer.
  public var sshdPID: Int32 { Int32(server.info["pid"] as? Int ?? 0) }

  /// - Parameter port: a fixed port (to restart a server where it was); a free one when nil.
  /// - Parameter debugLog: sshd logs at DEBUG1 (shows forwarded channels, for bastion tests).
  /// sshd's log so far.
  public var log: String {
    let directory = server.info["directory"] as? String ?? ""
    return (try? String(contentsOfFile: directory + "/sshd.log", encoding: .utf8)) ?? ""
  }

  /// How the server treats SFTP: `broken` runs a program that exits without answering (as
  /// sshd does when it cannot enter an unsafe `ChrootDirectory`), `none` has no sftp subsystem.
  public enum SFTP: String, Sendable { case working, broken, none }

  /// - Parameter passwordUser: also let this (existing) user log in with a password.
  public init(authorizing publicKeys: [String], port: Int? = nil, debugLog: Bool = false, passwordUser: String? = nil, sftp: SFTP = .working)
    async throws
  {
    let directory = try Scratch.directory("kiln-ssh")
    authorizedKeys = directory.appendingPathComponent("authorized_keys")
    try (publicKeys.joined(separator: "\n") + "\n").write(to: authorizedKeys, atomically: true, encoding: .utf8)
    var arguments = [authorizedKeys.path] + (port.map { [String($0)] } ?? []) + (debugLog ? ["--debug-log"] : [])
    if let passwordUser { arguments.append("--password-user=\(passwordUser)") }
    if sftp != .working { arguments.append("--sftp=\(sftp.rawValue)") }
    server = try await LoopbackServer(python: TestPaths.fixture("sshd_server.py"), arguments: arguments, timeout: 30)
  }

  /// An sshd reading an authorized_keys file someone else maintains (`MotoServer`'s
  /// `instanceKeys`: the launched instance's key pair). With `chroot` (root only; see
  /// `sshd_server.py`), every session is confined to that directory, as in `demo/run`.
  public init(authorizedKeysFile: URL, chroot: String? = nil) async throws {
    authorizedKeys = authorizedKeysFile
    server = try await LoopbackServer(
      python: TestPaths.fixture("sshd_server.py"), arguments: [authorizedKeysFile.path] + (chroot.map { ["--chroot=\($0)"] } ?? []),
      timeout: 30)
  }
}
