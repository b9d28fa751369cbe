internal import CLibSSH2
import Foundation
public import KilnCore
import Synchronization

/// How to reach and log in to a host.
public struct SSHConnectionConfig: Sendable {
  public enum Authentication: Sendable {
    /// A private key held in memory (a temporary key pair).
    case privateKey(pem: String, passphrase: String? = nil)
    case privateKeyFile(path: String, passphrase: String? = nil)
    case password(String)
    /// Keys held by an ssh-agent (`ssh_agent_auth`): the one at `socketPath`, or
    /// `SSH_AUTH_SOCK`'s when nil.
    case agent(socketPath: String? = nil)
  }

  public var host: String
  public var port: Int
  public var username: String
  public var authentication: [Authentication]
  public var connectTimeout: Duration = .seconds(30)
  /// The longest any single read or write may wait (Packer's `ssh_read_write_timeout`); nil
  /// for no limit. A dead connection is found by keepalives either way.
  public var readWriteTimeout: Duration?
  /// Packer's `ssh_keep_alive_interval` (5 s); nil to send none.
  public var keepAliveInterval: Duration? = .seconds(5)
  /// When set, the server's host key must have this `SHA256:…` fingerprint.
  public var expectedHostKeyFingerprint: String?
  /// Whether `expectedHostKeyFingerprint` is the key seen at the build's first connection
  /// (rather than the template's `ssh_host_key_fingerprint`), for the mismatch error.
  public var hostKeyPinnedAtFirstConnection = false
  public var requestPTY = false
  /// A jump host (`ssh_bastion_*`): the connection to `host` is tunnelled through it.
  public var bastion: SSHBastion?

  public init(host: String, port: Int = 22, username: String, authentication: [Authentication]) {
    self.host = host
    self.port = port
    self.username = username
    self.authentication = authentication
  }
}

/// A jump host to reach the target through (a `direct-tcpip` channel).
public struct SSHBastion: Sendable {
  public var host: String
  public var port: Int
  public var username: String
  public var authentication: [SSHConnectionConfig.Authentication]

  public init(host: String, port: Int = 22, username: String, authentication: [SSHConnectionConfig.Authentication]) {
    self.host = host
    self.port = port
    self.username = username
    self.authentication = authentication
  }
}

/// A failure of the SSH layer, with libssh2's own message where it gave one.
public struct SSHError: Error, CustomStringConvertible, Sendable {
  public enum Kind: Sendable, Equatable {
    /// TCP connect failed (refused, unreachable, timed out): the host may still be booting.
    case connect
    /// The SSH handshake failed.
    case handshake
    /// Every authentication method was refused.
    case authentication
    /// The host key is not the one expected.
    case hostKeyMismatch
    /// The connection was lost or timed out while in use.
    case connectionLost
    case channel
  }

  public var kind: Kind
  public var message: String

  public var description: String { message }
}

/// The one Swift owner of a `LIBSSH2_SESSION *` and its socket.
///
/// libssh2 runs in non-blocking mode; every call goes through `io`, which waits on the socket
/// with `poll` in short slices, and between slices checks cancellation, the read/write
/// deadline and whether a keepalive is due. All libssh2 work for a session runs on one serial
/// queue (libssh2 sessions are not thread-safe), off Swift's cooperative threads.
public final class SSHSession: Communicator, @unchecked Sendable {
  public let config: SSHConnectionConfig
  /// The server's host key, `SHA256:…` as `ssh-keygen -l` prints it.
  public private(set) var hostKeyFingerprint = ""
  private let queue = DispatchQueue(label: "kiln.ssh.session")
  var session: OpaquePointer?
  /// The SFTP subsystem, opened on first use.
  var sftp: OpaquePointer?
  var socket: Int32 = -1
  var lastActivity = ContinuousClock.now
  /// The bastion session this one is tunnelled through, kept alive with it.
  private var jump: SSHSession?
  /// Keepalives only once logged in: one sent during the key exchange breaks it.
  private var established = false
  /// Left when the pump of a tunnel through this (bastion) session has stopped using it.
  let tunnelDone = DispatchGroup()

  private init(config: SSHConnectionConfig) { self.config = config }

  /// A last-resort safety net, not the way sessions end: `withSession` closes a scoped session,
  /// the owner of a long-lived one calls `close()` (a build's communicator is closed by the
  /// connect step's cleanup), and a failed `connect` frees its handles before it throws.
  /// Freeing here would run on whichever thread drops the last reference, possibly during
  /// the process's exit (see `connect`).
  deinit { _ = teardown() }

  /// Connects, checks the host key and logs in (one attempt; the build's connect step retries).
  ///
  /// A failed attempt frees its libssh2 handles before this throws: freed later, by whichever
  /// thread drops the last reference, they raced the process's exit, where OpenSSL's atexit
  /// cleanup destroys the locks libssh2_session_free takes (a SIGSEGV in
  /// pthread_rwlock_wrlock right after a host-key-mismatch error).
  public static func connect(_ config: SSHConnectionConfig) async throws -> SSHSession {
    try SSHLibrary.ensureInitialized()
    let session = SSHSession(config: config)
    try await session.onQueue(cancellable: { cancelled in
      do {
        try session.open(cancelled)
      } catch {
        // The failure to connect is the error to report; what closing found adds nothing.
        _ = session.teardown()
        throw error
      }
    })
    return session
  }

  /// Connects (one attempt, as `connect`), runs `body` with the session and closes it on
  /// every way out: a return, a throw, or the caller's task being cancelled (closing does not
  /// stop for cancellation). When `body` returned but closing failed, that failure is thrown.
  public static func withSession<T>(
    _ config: SSHConnectionConfig, _ body: (SSHSession) async throws -> T
  ) async throws -> T {
    try await closing(try await connect(config), after: body)
  }

  /// Runs `body` with `session`, then closes it whatever `body` did; `body`'s error wins
  /// over one from closing.
  static func closing<T>(_ session: SSHSession, after body: (SSHSession) async throws -> T) async throws -> T {
    let result: T
    do {
      result = try await body(session)
    } catch {
      try? await session.close()
      throw error
    }
    try await session.close()
    return result
  }

  /// Disconnects and frees the libssh2 handles now, after any work queued before; later
  /// calls fail with "the SSH session is closed". Idempotent. Runs to its end even when the
  /// caller's task is cancelled. Throws when a libssh2 call failed or could not finish in
  /// time; a lost connection is not an error here (there is no one left to tell).
  public func close() async throws {
    let problems = try await onQueue { self.teardown() }
    if !problems.isEmpty {
      throw SSHError(kind: .channel, message: "closing the SSH session to \(config.host):\(config.port): \(problems.joined(separator: "; "))")
    }
  }

  /// Frees SFTP, the session, the socket and a bastion's tunnel, in that order, checking
  /// each return code; returns what failed. On the session's queue (or from deinit, when
  /// nothing else can use it).
  private func teardown() -> [String] {
    var problems: [String] = []
    if let sftp {
      let code = finishing { libssh2_sftp_shutdown(sftp) }
      if code != 0, !Self.isConnectionError(code) { problems.append("libssh2_sftp_shutdown: \(lastError(code))") }
    }
    sftp = nil
    if let session {
      let code = finishing { libssh2_session_disconnect_ex(session, SSH_DISCONNECT_BY_APPLICATION, "kiln is done", "") }
      if code != 0, !Self.isConnectionError(code) {
        problems.append("libssh2_session_disconnect: \(lastError(code))")
      }
      var freed = finishing { libssh2_session_free(session) }
      if freed != 0 {
        // Still sending (a peer that stopped reading): once more, blocking but bounded.
        libssh2_session_set_timeout(session, 2000)
        libssh2_session_set_blocking(session, 1)
        freed = libssh2_session_free(session)
        if freed != 0 { problems.append("libssh2_session_free: libssh2 error \(freed) (the session is left allocated)") }
      }
    }
    session = nil
    established = false
    if socket >= 0, Foundation.close(socket) != 0 {
      problems.append("closing the socket: \(String(cString: strerror(errno)))")
    }
    socket = -1
    // The tunnel's pump ends once our end of its socket pair is closed; then its bastion
    // session can go.
    if let jump {
      jump.tunnelDone.wait()
      problems += jump.teardown().map { "bastion: \($0)" }
    }
    jump = nil
    return problems
  }

  /// A non-blocking call made while closing: repeated while it answers EAGAIN, for at most
  /// `limit`, whatever the caller's cancellation (closing must finish). Returns its last code.
  func finishing(within limit: Duration = .seconds(5), _ call: () -> Int32) -> Int32 {
    let deadline = ContinuousClock.now + limit
    while true {
      let code = call()
      guard code == LIBSSH2_ERROR_EAGAIN else { return code }
      guard (try? waitForSocket(CancellationFlag(), deadline: deadline, "closing")) != nil else { return code }
    }
  }

  /// Runs work on the session's queue and returns its result to the caller's task.
  func onQueue<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
      queue.async { continuation.resume(with: Result { try work() }) }
    }
  }

  /// Runs work on the session's queue with a flag that the caller's task cancellation sets,
  /// which the work's poll loop checks (every blocking libssh2 operation goes through here).
  func onQueue<T: Sendable>(cancellable work: @escaping @Sendable (CancellationFlag) throws -> T) async throws -> T {
    let cancelled = CancellationFlag()
    return try await withTaskCancellationHandler {
      try await onQueue { try work(cancelled) }
    } onCancel: {
      cancelled.cancel()
    }
  }

  // MARK: - Opening

  private func open(_ cancelled: CancellationFlag) throws {
    if let bastion = config.bastion {
      var hop = SSHConnectionConfig(host: bastion.host, port: bastion.port, username: bastion.username, authentication: bastion.authentication)
      hop.connectTimeout = config.connectTimeout
      hop.keepAliveInterval = config.keepAliveInterval
      let jump = SSHSession(config: hop)
      do {
        try jump.open(cancelled)
      } catch var error as SSHError {
        error.message = "bastion \(bastion.host):\(bastion.port): \(error.message)"
        throw error
      }
      socket = try jump.tunnel(to: config.host, port: config.port, cancelled)
      self.jump = jump
    } else {
      socket = try Self.tcpConnect(host: config.host, port: config.port, timeout: config.connectTimeout, cancelled: cancelled)
    }
    guard let session = libssh2_session_init_ex(nil, nil, nil, nil) else {
      throw SSHError(kind: .handshake, message: "libssh2_session_init failed")
    }
    self.session = session
    libssh2_session_set_blocking(session, 0)
    if let interval = config.keepAliveInterval {
      libssh2_keepalive_config(session, 1, UInt32(max(1, Int(interval.components.seconds))))
    }
    let deadline = ContinuousClock.now + config.connectTimeout
    do {
      try io(cancelled, deadline: deadline, "SSH handshake with \(config.host):\(config.port)") {
        libssh2_session_handshake(session, socket)
      }
    } catch var error as SSHError where error.kind == .connectionLost {
      error.kind = .handshake
      throw error
    }
    if let hash = libssh2_hostkey_hash(session, LIBSSH2_HOSTKEY_HASH_SHA256) {
      let bytes = UnsafeRawBufferPointer(start: hash, count: 32)
      hostKeyFingerprint = "SHA256:" + Data(bytes).base64EncodedString().replacingOccurrences(of: "=", with: "")
    }
    if let expected = config.expectedHostKeyFingerprint, !expected.isEmpty, expected != hostKeyFingerprint {
      let source =
        config.hostKeyPinnedAtFirstConnection
        ? "the key seen when this build first connected: the host key is pinned for the build"
        : "ssh_host_key_fingerprint"
      throw SSHError(
        kind: .hostKeyMismatch,
        message: "the host key of \(config.host):\(config.port) is \(hostKeyFingerprint), not the expected \(expected) (\(source))")
    }
    try authenticate(session, cancelled, deadline: deadline)
    established = true
  }

  private func authenticate(_ session: OpaquePointer, _ cancelled: CancellationFlag, deadline: ContinuousClock.Instant) throws {
    let user = config.username
    var refusals: [String] = []
    for method in config.authentication {
      let outcome: Int32
      let what: String
      switch method {
      case .privateKey(let pem, let passphrase):
        what = "private key"
        outcome = try io(cancelled, deadline: deadline, "public key authentication", allowFailure: true) {
          libssh2_userauth_publickey_frommemory(session, user, user.utf8.count, nil, 0, pem, pem.utf8.count, passphrase)
        }
      case .privateKeyFile(let path, let passphrase):
        what = "private key \(path)"
        guard FileManager.default.isReadableFile(atPath: path) else {
          refusals.append("\(what): the file cannot be read")
          continue
        }
        outcome = try io(cancelled, deadline: deadline, "public key authentication", allowFailure: true) {
          libssh2_userauth_publickey_fromfile_ex(session, user, UInt32(user.utf8.count), nil, path, passphrase)
        }
      case .password(let password):
        what = "password"
        outcome = try io(cancelled, deadline: deadline, "password authentication", allowFailure: true) {
          libssh2_userauth_password_ex(session, user, UInt32(user.utf8.count), password, UInt32(password.utf8.count), nil)
        }
      case .agent(let socketPath):
        what = "ssh-agent"
        let (code, detail) = try agentAuthenticate(session, socketPath, cancelled, deadline: deadline)
        if code == 0, libssh2_userauth_authenticated(session) == 1 { return }
        refusals.append("ssh-agent: \(detail)")
        continue
      }
      if outcome == 0, libssh2_userauth_authenticated(session) == 1 { return }
      var refusal = "\(what): \(lastError(outcome))"
      if Self.isRSA(method) {
        refusal +=
          " (this is an RSA key: libssh2 1.10 signs RSA only with SHA-1 \"ssh-rsa\", which OpenSSH 8.8 and later refuse by default; use an ed25519 key, kiln's default for temporary keys)"
      }
      refusals.append(refusal)
    }
    let methods = refusals.isEmpty ? "no authentication method was configured" : refusals.joined(separator: "; ")
    throw SSHError(kind: .authentication, message: "ssh: unable to authenticate as \(user) on \(config.host):\(config.port): \(methods)")
  }

  /// Whether an authentication method uses an RSA private key (PEM "RSA" or OpenSSH format
  /// holding an `ssh-rsa` key).
  static func isRSA(_ method: SSHConnectionConfig.Authentication) -> Bool {
    let pem: String
    switch method {
    case .privateKey(let text, _): pem = text
    case .privateKeyFile(let path, _): pem = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    default: return false
    }
    if pem.contains("BEGIN RSA PRIVATE KEY") { return true }
    guard pem.contains("BEGIN OPENSSH PRIVATE KEY") else { return false }
    let body = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
    guard let data = Data(base64Encoded: body) else { return false }
    return data.prefix(200).range(of: Data("ssh-rsa".utf8)) != nil
  }

  /// Tries every identity the agent holds. Returns 0 on success, else the last code and why.
  private func agentAuthenticate(
    _ session: OpaquePointer, _ socketPath: String?, _ cancelled: CancellationFlag, deadline: ContinuousClock.Instant
  ) throws -> (Int32, String) {
    guard let agent = libssh2_agent_init(session) else { return (-1, "cannot create an agent handle: \(lastError(-1))") }
    defer {
      _ = libssh2_agent_disconnect(agent)
      libssh2_agent_free(agent)
    }
    if let socketPath { libssh2_agent_set_identity_path(agent, socketPath) }
    let path = socketPath ?? ProcessInfo.processInfo.environment["SSH_AUTH_SOCK"] ?? "(SSH_AUTH_SOCK is not set)"
    guard libssh2_agent_connect(agent) == 0 else { return (-1, "cannot connect to the agent at \(path)") }
    guard libssh2_agent_list_identities(agent) == 0 else { return (-1, "cannot list the agent's keys: \(lastError(-1))") }
    var identity: UnsafeMutablePointer<libssh2_agent_publickey>?
    var previous: UnsafeMutablePointer<libssh2_agent_publickey>?
    var tried = 0
    var last: Int32 = -1
    while libssh2_agent_get_identity(agent, &identity, previous) == 0, let current = identity {
      tried += 1
      last = try io(cancelled, deadline: deadline, "agent authentication", allowFailure: true) {
        libssh2_agent_userauth(agent, config.username, current)
      }
      if last == 0 { return (0, "") }
      previous = current
    }
    return (last, tried == 0 ? "the agent at \(path) holds no keys" : "none of the agent's \(tried) key(s) was accepted: \(lastError(last))")
  }

  /// libssh2's message for the last failure (with its code).
  func lastError(_ code: Int32) -> String {
    guard let session else { return "libssh2 error \(code)" }
    var message: UnsafeMutablePointer<CChar>?
    var length: Int32 = 0
    let last = libssh2_session_last_error(session, &message, &length, 0)
    let text = message.map { String(cString: $0) } ?? ""
    return text.isEmpty ? "libssh2 error \(last)" : "\(text) (libssh2 error \(last))"
  }

  // MARK: - The I/O loop

  /// Repeats a non-blocking libssh2 call while it answers EAGAIN, waiting on the socket in
  /// 200 ms slices. Throws on cancellation, on a deadline, and (unless `allowFailure`) on an
  /// error code; returns the call's final value.
  @discardableResult
  func io(
    _ cancelled: CancellationFlag, deadline: ContinuousClock.Instant?, _ what: @autoclosure () -> String,
    allowFailure: Bool = false, _ call: () -> Int32
  ) throws -> Int32 {
    let result = try ioSize(cancelled, deadline: deadline, what(), allowFailure: allowFailure) { Int(call()) }
    return Int32(result)
  }

  @discardableResult
  func ioSize(
    _ cancelled: CancellationFlag, deadline: ContinuousClock.Instant?, _ what: @autoclosure () -> String,
    allowFailure: Bool = false, _ call: () -> Int
  ) throws -> Int {
    while true {
      let result = call()
      if result != Int(LIBSSH2_ERROR_EAGAIN) {
        lastActivity = .now
        if result < 0, !allowFailure {
          throw SSHError(
            kind: Self.isConnectionError(Int32(result)) ? .connectionLost : .channel, message: "\(what()) failed: \(lastError(Int32(result)))")
        }
        return result
      }
      try waitForSocket(cancelled, deadline: deadline, what())
    }
  }

  /// Waits for the socket. Keepalives go out only when `idle` (waiting for a command's
  /// output, with no outgoing packet half-sent): one sent in the middle of another operation,
  /// an SFTP write say, breaks libssh2's transport.
  func waitForSocket(_ cancelled: CancellationFlag, deadline: ContinuousClock.Instant?, _ what: @autoclosure () -> String, idle: Bool = false) throws
  {
    if cancelled.isCancelled { throw CancellationError() }
    if let deadline, ContinuousClock.now >= deadline {
      throw SSHError(kind: .connectionLost, message: "\(what()) timed out: no answer from \(config.host):\(config.port)")
    }
    if idle, let session, established, config.keepAliveInterval != nil {
      var next: Int32 = 0
      let sent = libssh2_keepalive_send(session, &next)
      if sent < 0, sent != LIBSSH2_ERROR_EAGAIN {
        throw SSHError(kind: .connectionLost, message: "\(what()): the connection to \(config.host):\(config.port) is lost: \(lastError(sent))")
      }
    }
    var events: Int16 = 0
    let directions = session.map { libssh2_session_block_directions($0) } ?? Int32(LIBSSH2_SESSION_BLOCK_INBOUND)
    if directions & Int32(LIBSSH2_SESSION_BLOCK_INBOUND) != 0 { events |= Int16(POLLIN) }
    if directions & Int32(LIBSSH2_SESSION_BLOCK_OUTBOUND) != 0 { events |= Int16(POLLOUT) }
    if events == 0 { events = Int16(POLLIN) }
    var descriptor = pollfd(fd: socket, events: events, revents: 0)
    _ = poll(&descriptor, 1, 200)
  }

  static func isConnectionError(_ code: Int32) -> Bool {
    [
      LIBSSH2_ERROR_SOCKET_DISCONNECT, LIBSSH2_ERROR_SOCKET_RECV, LIBSSH2_ERROR_SOCKET_SEND, LIBSSH2_ERROR_TIMEOUT,
      LIBSSH2_ERROR_SOCKET_TIMEOUT, LIBSSH2_ERROR_KEX_FAILURE, LIBSSH2_ERROR_BANNER_RECV, LIBSSH2_ERROR_BANNER_SEND,
    ]
    .map { Int32($0) }.contains(code)
  }

  // MARK: - TCP

  /// A connected, non-blocking TCP socket (IPv4 or IPv6), within `timeout`.
  static func tcpConnect(host: String, port: Int, timeout: Duration, cancelled: CancellationFlag) throws -> Int32 {
    var hints = addrinfo()
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    hints.ai_family = AF_UNSPEC
    var list: UnsafeMutablePointer<addrinfo>?
    let lookup = getaddrinfo(host, String(port), &hints, &list)
    guard lookup == 0, let first = list else {
      throw SSHError(kind: .connect, message: "cannot resolve \(host): \(String(cString: gai_strerror(lookup)))")
    }
    defer { freeaddrinfo(list) }
    var lastFailure = "no address"
    var entry: UnsafeMutablePointer<addrinfo>? = first
    let deadline = ContinuousClock.now + timeout
    while let address = entry {
      entry = address.pointee.ai_next
      let fd = Foundation.socket(address.pointee.ai_family, address.pointee.ai_socktype, address.pointee.ai_protocol)
      guard fd >= 0 else { continue }
      _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
      var on: Int32 = 1
      setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, socklen_t(MemoryLayout<Int32>.size))
      setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
      if Foundation.connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 { return fd }
      guard errno == EINPROGRESS else {
        lastFailure = String(cString: strerror(errno))
        Foundation.close(fd)
        continue
      }
      var connected = false
      while ContinuousClock.now < deadline {
        if cancelled.isCancelled {
          Foundation.close(fd)
          throw CancellationError()
        }
        var descriptor = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        if poll(&descriptor, 1, 200) > 0 {
          var error: Int32 = 0
          var length = socklen_t(MemoryLayout<Int32>.size)
          getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
          if error == 0 {
            connected = true
          } else {
            lastFailure = String(cString: strerror(error))
          }
          break
        }
      }
      if connected { return fd }
      if ContinuousClock.now >= deadline { lastFailure = "connection timed out" }
      Foundation.close(fd)
    }
    throw SSHError(kind: .connect, message: "dial tcp \(host):\(port): \(lastFailure)")
  }

  // MARK: - Commands

  /// Opens a "session" channel (for a command or a subsystem).
  func openChannel(_ session: OpaquePointer, _ cancelled: CancellationFlag, deadline: () -> ContinuousClock.Instant?) throws -> OpaquePointer {
    while true {
      if let channel = libssh2_channel_open_ex(session, "session", 7, 2 * 1024 * 1024, 32768, nil, 0) { return channel }
      let code = libssh2_session_last_errno(session)
      guard code == LIBSSH2_ERROR_EAGAIN else {
        throw SSHError(kind: Self.isConnectionError(code) ? .connectionLost : .channel, message: "cannot open a session channel: \(lastError(code))")
      }
      try waitForSocket(cancelled, deadline: deadline(), "opening a session channel")
    }
  }

  public func run(_ command: String, output: @escaping @Sendable (RemoteOutput) -> Void) async throws -> RemoteCommandResult {
    try await run(command, into: LineSink(output))
  }

  public func run(_ command: String, into sink: any OutputSink) async throws -> RemoteCommandResult {
    // `finish` once, however the command ends (cancelled too, and before it started).
    defer { sink.finish() }
    return try await onQueue(cancellable: { try self.execute(command, $0, sink) })
  }

  /// Relays the channel's bytes to `sink` as read, and tells it when the channel has nothing
  /// more ready (before every wait), so it can batch what arrives together and hold nothing
  /// while the command is quiet.
  private func execute(_ command: String, _ cancelled: CancellationFlag, _ sink: any OutputSink) throws -> RemoteCommandResult {
    guard let session else { throw SSHError(kind: .connectionLost, message: "the SSH session is closed") }
    func deadline() -> ContinuousClock.Instant? { config.readWriteTimeout.map { lastActivity + $0 } }
    let channel: OpaquePointer
    do {
      channel = try openChannel(session, cancelled, deadline: deadline)
    } catch let error as SSHError where error.kind == .connectionLost {
      return .disconnected(reason: error.message)
    }
    defer { libssh2_channel_free(channel) }
    if config.requestPTY {
      try io(cancelled, deadline: deadline(), "requesting a PTY") {
        libssh2_channel_request_pty_ex(channel, "xterm", 5, nil, 0, 80, 24, 0, 0)
      }
    }
    try io(cancelled, deadline: deadline(), "starting the command") {
      libssh2_channel_process_startup(channel, "exec", 4, command, UInt32(command.utf8.count))
    }

    var buffer = [CChar](repeating: 0, count: 32768)
    do {
      while true {
        // First, every time round: a command that never stops printing (`yes`) keeps the
        // reads below busy, and must still be cancellable.
        if cancelled.isCancelled {
          // Close the channel: sshd closes the command's pipes (and hangs up its PTY), so it
          // stops at its next write. (libssh2 1.10 has no channel_signal to send TERM.)
          _ = libssh2_channel_send_eof(channel)
          _ = libssh2_channel_close(channel)
          throw CancellationError()
        }
        var progressed = false
        for stream in 0..<2 {
          let count = libssh2_channel_read_ex(channel, Int32(stream), &buffer, buffer.count)
          if count > 0 {
            lastActivity = .now
            progressed = true
            buffer.withUnsafeBytes { sink.write(UnsafeRawBufferPointer(rebasing: $0.prefix(count)), from: stream == 0 ? .stdout : .stderr) }
          } else if count < 0, count != Int(LIBSSH2_ERROR_EAGAIN) {
            throw SSHError(kind: .connectionLost, message: lastError(Int32(count)))
          }
        }
        if progressed { continue }
        if libssh2_channel_eof(channel) == 1 { break }
        sink.idle()
        try waitForSocket(cancelled, deadline: deadline(), "running the command", idle: true)
      }
    } catch let error as SSHError where error.kind == .connectionLost {
      return .disconnected(reason: error.message)
    }
    do {
      try io(cancelled, deadline: deadline(), "closing the channel") { libssh2_channel_close(channel) }
      try io(cancelled, deadline: deadline(), "closing the channel") { libssh2_channel_wait_closed(channel) }
    } catch let error as SSHError where error.kind == .connectionLost {
      return .disconnected(reason: error.message)
    }
    var signal: UnsafeMutablePointer<CChar>?
    var signalLength = 0
    _ = libssh2_channel_get_exit_signal(channel, &signal, &signalLength, nil, nil, nil, nil)
    if let signal {
      let name = String(cString: signal)
      free(signal)
      if !name.isEmpty { return .signaled(name) }
    }
    return .exited(libssh2_channel_get_exit_status(channel))
  }
}
