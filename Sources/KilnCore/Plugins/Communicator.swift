/// How provisioners reach the machine being built. The SSH communicator is one conformance;
/// another (SSM, WinRM) would be another. Safe for concurrent use: calls are serialised.
public protocol Communicator: Sendable {
  /// Runs `command` remotely, delivering output line by line as it arrives (never buffering
  /// the whole output; a line longer than 64 KiB arrives in pieces of at most 64 KiB), and
  /// returns how it ended. Cancelling the task stops the command.
  func run(_ command: String, output: @escaping @Sendable (RemoteOutput) -> Void) async throws -> RemoteCommandResult

  /// Uploads a local file or directory with Packer's rules (a directory without a trailing
  /// slash lands inside `remotePath`; with one, its contents do), streaming from disk.
  func upload(_ localPath: String, to remotePath: String, progress: TransferProgress?) async throws

  /// Downloads a remote file or directory, streaming to disk.
  func download(_ remotePath: String, to localPath: String, progress: TransferProgress?) async throws

  /// Sets a remote file's permission bits, like `chmod`.
  func setMode(_ remotePath: String, _ mode: Int) async throws

  /// Removes remote files; a missing one is not an error, like `rm -f`.
  func remove(_ remotePaths: [String]) async throws
}

extension Communicator {
  /// Through a remote shell, for communicators without a file protocol.
  public func setMode(_ remotePath: String, _ mode: Int) async throws {
    let result = try await run("chmod \(String(mode, radix: 8)) '\(remotePath)'", output: { _ in })
    guard result == .exited(0) else { throw CommunicatorError("could not set the mode of \(remotePath): \(result)") }
  }

  public func remove(_ remotePaths: [String]) async throws {
    guard !remotePaths.isEmpty else { return }
    let result = try await run("rm -f " + remotePaths.map { "'\($0)'" }.joined(separator: " "), output: { _ in })
    guard result == .exited(0) else { throw CommunicatorError("could not remove \(remotePaths.joined(separator: " ")): \(result)") }
  }
}

/// A remote file operation that did not work.
public struct CommunicatorError: Error, CustomStringConvertible, Sendable {
  public var description: String
  public init(_ description: String) { self.description = description }
}

/// Progress of one file in a transfer: its path, bytes done, bytes in all.
public typealias TransferProgress = @Sendable (_ path: String, _ done: Int64, _ total: Int64) -> Void

/// One line a remote command printed.
public enum RemoteOutput: Sendable, Equatable {
  case stdout(String)
  case stderr(String)
}

/// How a remote command ended.
public enum RemoteCommandResult: Sendable, Equatable {
  case exited(Int32)
  /// Killed by a signal ("TERM", "KILL", ...).
  case signaled(String)
  /// The connection dropped before the command reported an exit status (a reboot, say):
  /// what `expect_disconnect` accepts.
  case disconnected(reason: String)

  public var exitCode: Int32? {
    if case .exited(let code) = self { return code }
    return nil
  }
}
