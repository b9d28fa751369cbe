public import KilnCore
import Synchronization

/// The communicator a build uses: an `SSHSession` that is replaced by a new connection
/// (Packer's waiting rules, `SSHConnector`) when the machine dropped the old one, as after a
/// reboot in an `expect_disconnect` provisioner.
///
/// The host key of the first connection is pinned for the build: a reconnection that finds
/// another key (another machine answering at the same address) fails at once, naming both.
///
/// Its sessions outlive any one scope (the build holds the communicator from the connect step
/// to that step's cleanup, across every provisioner), so they are not `withSession`-scoped:
/// the owner calls `close()`, and a dropped session is closed when it is replaced.
/// `SSHSession`'s `deinit` is only a safety net behind that.
public final class ReconnectingCommunicator: Communicator {
  /// The connector for reconnections, pinned to the first session's host key.
  public let connector: SSHConnector
  private let session = Mutex<SSHSession?>(nil)
  private let progress: (@Sendable (String) -> Void)?

  public init(connector: SSHConnector, first: SSHSession, progress: (@Sendable (String) -> Void)? = nil) {
    self.connector = connector.pinned(to: first.hostKeyFingerprint)
    self.progress = progress
    session.withLock { $0 = first }
  }

  /// Disconnects the current session now (the build is done with the machine). The owner
  /// must call this (the connect step's cleanup does). A failure to close is reported through
  /// `progress`: at the end of a build there is nothing else to do about it.
  public func close() async {
    guard let current = session.withLock({ $0.take() }) else { return }
    await closeReporting(current)
  }

  private func closeReporting(_ old: SSHSession) async {
    do {
      try await old.close()
    } catch {
      progress?("\(error)")
    }
  }

  /// The host key of the current connection.
  public var hostKeyFingerprint: String { session.withLock { $0?.hostKeyFingerprint ?? "" } }

  private func current() async throws -> SSHSession {
    if let existing = session.withLock({ $0 }) { return existing }
    progress?("reconnecting to \(connector.config.host):\(connector.config.port)")
    let fresh = try await connector.connect(progress: progress)
    session.withLock { $0 = fresh }
    return fresh
  }

  private func drop(_ old: SSHSession) async {
    session.withLock { if $0 === old { $0 = nil } }
    await closeReporting(old)
  }

  public func run(_ command: String, output: @escaping @Sendable (RemoteOutput) -> Void) async throws -> RemoteCommandResult {
    let active = try await current()
    let result = try await active.run(command, output: output)
    if case .disconnected = result { await drop(active) }
    return result
  }

  public func run(_ command: String, into sink: any OutputSink) async throws -> RemoteCommandResult {
    let active: SSHSession
    do {
      active = try await current()
    } catch {
      sink.finish()
      throw error
    }
    let result = try await active.run(command, into: sink)
    if case .disconnected = result { await drop(active) }
    return result
  }

  public func upload(_ localPath: String, to remotePath: String, progress: TransferProgress?) async throws {
    try await transfer { try await $0.upload(localPath, to: remotePath, progress: progress) }
  }

  public func download(_ remotePath: String, to localPath: String, progress: TransferProgress?) async throws {
    try await transfer { try await $0.download(remotePath, to: localPath, progress: progress) }
  }

  public func setMode(_ remotePath: String, _ mode: Int) async throws {
    try await transfer { try await $0.setMode(remotePath, mode) }
  }

  public func remove(_ remotePaths: [String]) async throws {
    try await transfer { try await $0.remove(remotePaths) }
  }

  /// Runs a transfer on the current session; a lost connection drops it, so the next call
  /// (the provisioner's retry) connects again.
  private func transfer(_ body: (SSHSession) async throws -> Void) async throws {
    let active = try await current()
    do {
      try await body(active)
    } catch let error as SSHError where error.kind == .connectionLost {
      await drop(active)
      throw error
    }
  }
}
