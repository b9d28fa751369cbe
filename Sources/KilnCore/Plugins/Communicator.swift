import Synchronization

/// How provisioners reach the machine being built. The SSH communicator is one conformance;
/// another (SSM, WinRM) would be another. Safe for concurrent use: calls are serialised.
public protocol Communicator: Sendable {
  /// Runs `command` remotely, delivering output line by line as it arrives (never buffering
  /// the whole output; a line longer than 64 KiB arrives in pieces of at most 64 KiB), and
  /// returns how it ended. Cancelling the task stops the command.
  func run(_ command: String, output: @escaping @Sendable (RemoteOutput) -> Void) async throws -> RemoteCommandResult

  /// Runs `command` remotely, passing its output to `sink` as raw bytes as they arrive (the
  /// fast path to a build's console: `BuildUI.outputSink`), calling `idle` whenever no more
  /// output is ready and `finish` once when the command has ended, failed or been cancelled.
  func run(_ command: String, into sink: any OutputSink) async throws -> RemoteCommandResult

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
  /// Over the line-by-line `run`, for communicators without a byte stream of their own: each
  /// line is passed on (with a newline) as soon as it arrives.
  public func run(_ command: String, into sink: any OutputSink) async throws -> RemoteCommandResult {
    defer { sink.finish() }
    return try await run(command) { line in
      let (stream, text) =
        switch line {
        case .stdout(let text): (CommandStream.stdout, text)
        case .stderr(let text): (CommandStream.stderr, text)
        }
      var bytes = Array(text.utf8)
      bytes.append(UInt8(ascii: "\n"))
      bytes.withUnsafeBytes { sink.write($0, from: stream) }
      sink.idle()
    }
  }

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

/// A command's standard output or standard error.
public enum CommandStream: Sendable, Equatable {
  case stdout
  case stderr
}

/// Where a command's output goes as raw bytes, in the order they arrive: it splits them into
/// lines itself (`LineSink` delivers `RemoteOutput` lines; a build's console relays them with
/// its prefix, batched). Calls come from one task or thread at a time.
public protocol OutputSink: Sendable {
  /// Bytes the command wrote, exactly as read (any number of lines, or part of one).
  func write(_ bytes: UnsafeRawBufferPointer, from stream: CommandStream)
  /// No more output is ready for now: nothing held may wait any longer.
  func idle()
  /// The command ended, failed or was cancelled: a last line without newline goes out, and
  /// everything held is delivered.
  func finish()
}

/// An `OutputSink` that delivers whole lines (`LineSplitter`'s rules: `\n` or `\r\n`, a line
/// over 64 KiB in pieces) to a closure.
public final class LineSink: OutputSink {
  private let splitters: Mutex<[LineSplitter]>

  public init(_ deliver: @escaping @Sendable (RemoteOutput) -> Void) {
    splitters = Mutex([LineSplitter { deliver(.stdout($0)) }, LineSplitter { deliver(.stderr($0)) }])
  }

  public func write(_ bytes: UnsafeRawBufferPointer, from stream: CommandStream) {
    splitters.withLock { $0[stream == .stdout ? 0 : 1].append(bytes) }
  }

  public func idle() {}

  public func finish() {
    splitters.withLock { splitters in
      for index in splitters.indices { splitters[index].flush() }
    }
  }
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
