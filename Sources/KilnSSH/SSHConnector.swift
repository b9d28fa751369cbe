import Foundation

/// Connects the way Packer waits for a booting instance (reference §1.6): keep trying until
/// `timeout` (`ssh_timeout`, 5 min); refused or unreachable connections just mean "not up
/// yet"; authentication failures count toward `handshakeAttempts` (10) because a wrong key
/// never starts working; after the first success, `pauseBeforeConnecting` disconnects, waits
/// and connects again (for images whose SSH restarts during boot).
public struct SSHConnector: Sendable {
  public var config: SSHConnectionConfig
  public var timeout: Duration = .seconds(300)
  public var handshakeAttempts = 10
  /// Between failed attempts (Packer: 5 s); at most `refusedRetryDelay` after a refused
  /// connection.
  public var retryDelay: Duration = .seconds(5)
  /// Added after a failed authentication (Packer: 2 s).
  public var authenticationFailureDelay: Duration = .seconds(2)
  public var pauseBeforeConnecting: Duration = .zero
  /// After a refused or unreachable connection: the host is still booting, and looking again
  /// costs one TCP handshake, so sshd is seen up at most this late (Packer waits its 5 s).
  public var refusedRetryDelay: Duration = .milliseconds(500)

  public init(config: SSHConnectionConfig) { self.config = config }

  /// This connector, accepting only the host key `fingerprint` from now on (unless one was
  /// required already: then a session can only have that one).
  public func pinned(to fingerprint: String) -> SSHConnector {
    var pinned = self
    if pinned.config.expectedHostKeyFingerprint?.isEmpty ?? true {
      pinned.config.expectedHostKeyFingerprint = fingerprint
      pinned.config.hostKeyPinnedAtFirstConnection = true
    }
    return pinned
  }

  /// Connects (as `connect`), runs `body` with the session and closes it on every way out,
  /// cancellation included (`SSHSession.withSession`). For a session that must outlive one
  /// scope, `connect` and the owner's explicit `close()`, as `ReconnectingCommunicator` does.
  public func withSession<T>(
    progress: (@Sendable (String) -> Void)? = nil, _ body: (SSHSession) async throws -> T
  ) async throws -> T {
    try await SSHSession.closing(try await connect(progress: progress), after: body)
  }

  /// Connects, reporting each failed attempt through `progress`. Throws `SSHError` with the
  /// last error when time or attempts run out, `CancellationError` when cancelled.
  public func connect(progress: (@Sendable (String) -> Void)? = nil) async throws -> SSHSession {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    var authenticationFailures = 0
    var lastError: SSHError?
    while true {
      try Task.checkCancellation()
      var attempt = config
      // Never let one attempt run past the overall deadline.
      attempt.connectTimeout = min(config.connectTimeout, max(.milliseconds(100), deadline - clock.now))
      do {
        guard pauseBeforeConnecting > .zero else { return try await SSHSession.connect(attempt) }
        let fingerprint = try await SSHSession.withSession(attempt) { $0.hostKeyFingerprint }
        progress?("pausing \(pauseBeforeConnecting.components.seconds)s before connecting again")
        try await Task.sleep(for: pauseBeforeConnecting)
        // The same machine: the host key seen first is the one to find again.
        return try await SSHSession.connect(pinned(to: fingerprint).config)
      } catch let error as SSHError {
        lastError = error
        switch error.kind {
        case .authentication:
          authenticationFailures += 1
          if authenticationFailures >= handshakeAttempts {
            throw SSHError(
              kind: .authentication,
              message:
                "\(error.message) (gave up after \(authenticationFailures) attempts; check ssh_username and the key or password: a wrong one never starts working)"
            )
          }
        case .hostKeyMismatch:
          throw error
        default:
          break
        }
        progress?("waiting for SSH on \(config.host):\(config.port): \(error.message)")
      }
      let delay: Duration =
        switch lastError?.kind {
        case .authentication: retryDelay + authenticationFailureDelay
        case .connect: min(retryDelay, refusedRetryDelay)
        default: retryDelay
        }
      if clock.now + delay >= deadline {
        throw SSHError(
          kind: lastError?.kind ?? .connect,
          message:
            "timeout waiting for SSH on \(config.host):\(config.port) after \(timeout.components.seconds)s; the last attempt said: \(lastError?.message ?? "nothing")"
        )
      }
      try await Task.sleep(for: delay)
    }
  }
}
