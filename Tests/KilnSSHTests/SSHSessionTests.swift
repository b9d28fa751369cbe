import Foundation
import KilnCore
import KilnSSH
import Synchronization
import Testing
import _KilnTestSupport

/// One sshd for the suite, accepting one generated key; exits with the test process.
enum SharedSSH {
  static let key = Result { try SSHKeyPair.generateEd25519(comment: "kiln-tests") }
  static let server = Shared { try await SSHServer(authorizing: [try key.get().publicKeyLine]) }

  static func config() async throws -> SSHConnectionConfig {
    let server = try await server.get()
    return SSHConnectionConfig(
      host: "127.0.0.1", port: server.port, username: server.user,
      authentication: [.privateKey(pem: try key.get().privateKeyPEM)])
  }

  static func session() async throws -> SSHSession { try await SSHSession.connect(try config()) }
}

/// Collects a command's output lines.
final class OutputLog: Sendable {
  let lines = Mutex<[RemoteOutput]>([])
  var handler: @Sendable (RemoteOutput) -> Void { { line in self.lines.withLock { $0.append(line) } } }
  var stdout: [String] { lines.withLock { $0.compactMap { if case .stdout(let s) = $0 { s } else { nil } } } }
  var stderr: [String] { lines.withLock { $0.compactMap { if case .stderr(let s) = $0 { s } else { nil } } } }
}

@Suite struct SSHSessionTests {
  @Test func logsInWithAKeyFromMemoryAndRecordsTheHostKey() async throws {
    let session = try await SharedSSH.session()
    #expect(session.hostKeyFingerprint == (try await SharedSSH.server.get().hostKeyFingerprint))
    let log = OutputLog()
    #expect(try await session.run("id -un", output: log.handler) == .exited(0))
    #expect(log.stdout == [try await SharedSSH.server.get().user])
  }

  @Test(arguments: [("true", Int32(0)), ("false", 1), ("exit 42", 42), ("no-such-command-kiln", 127)])
  func exitCodes(command: String, code: Int32) async throws {
    let session = try await SharedSSH.session()
    #expect(try await session.run(command, output: { _ in }) == .exited(code))
  }

  @Test func aSignalIsReportedAsSuch() async throws {
    let session = try await SharedSSH.session()
    #expect(try await session.run("kill -KILL $$", output: { _ in }) == .signaled("KILL"))
  }

  @Test func stdoutAndStderrAreSeparatedAndInOrder() async throws {
    let session = try await SharedSSH.session()
    let log = OutputLog()
    let result = try await session.run("for i in 1 2 3; do echo out$i; echo err$i >&2; done; printf 'no newline'", output: log.handler)
    #expect(result == .exited(0))
    #expect(log.stdout == ["out1", "out2", "out3", "no newline"])
    #expect(log.stderr == ["err1", "err2", "err3"])
  }

  @Test func tenMegabytesOfOutputArriveWhole() async throws {
    let session = try await SharedSSH.session()
    let count = Mutex((lines: 0, bytes: 0))
    // 163,840 lines of 64 bytes = 10 MiB.
    let result = try await session.run("yes 012345678901234567890123456789012345678901234567890123456789abc | head -n 163840") { line in
      if case .stdout(let text) = line {
        count.withLock {
          $0.lines += 1
          $0.bytes += text.utf8.count + 1
        }
      }
    }
    #expect(result == .exited(0))
    #expect(count.withLock { $0 }.lines == 163_840)
    #expect(count.withLock { $0 }.bytes == 10 * 1024 * 1024)
  }

  @Test func commandsOnOneSessionAreSafeToRunConcurrently() async throws {
    let session = try await SharedSSH.session()
    let results = try await withThrowingTaskGroup(of: RemoteCommandResult.self) { group in
      for code in 0..<8 { group.addTask { try await session.run("exit \(code)", output: { _ in }) } }
      return try await group.reduce(into: [RemoteCommandResult]()) { $0.append($1) }
    }
    #expect(Set(results.compactMap(\.exitCode)) == Set(0..<8))
  }

  @Test func aWrongKeyIsAClearAuthenticationError() async throws {
    var config = try await SharedSSH.config()
    config.authentication = [.privateKey(pem: try SSHKeyPair.generateEd25519().privateKeyPEM)]
    do {
      _ = try await SSHSession.connect(config)
      Issue.record("a wrong key was accepted")
    } catch let error as SSHError {
      #expect(error.kind == .authentication)
      #expect(error.message.contains("unable to authenticate as \(config.username) on 127.0.0.1:\(config.port)"), "\(error)")
    }
  }

  @Test func aClosedPortIsAConnectError() async throws {
    let closed = try ClosedPort()
    let port = closed.port
    var config = try await SharedSSH.config()
    config.port = port
    do {
      _ = try await SSHSession.connect(config)
      Issue.record("connected to a closed port")
    } catch let error as SSHError {
      #expect(error.kind == .connect)
      #expect(error.message == "dial tcp 127.0.0.1:\(port): Connection refused")
    }
    withExtendedLifetime(closed) {}
  }

  @Test func aPinnedHostKeyMustMatch() async throws {
    var config = try await SharedSSH.config()
    config.expectedHostKeyFingerprint = try await SharedSSH.server.get().hostKeyFingerprint
    _ = try await SSHSession.connect(config)
    config.expectedHostKeyFingerprint = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    do {
      _ = try await SSHSession.connect(config)
      Issue.record("a wrong host key was accepted")
    } catch let error as SSHError {
      #expect(error.kind == .hostKeyMismatch)
    }
  }

  @Test func cancellingTheTaskStopsALongCommand() async throws {
    let session = try await SharedSSH.session()
    let log = OutputLog()
    // Without cancellation this command ends normally after 20 s with exit 0.
    let task = Task { try await session.run("echo started; sleep 20; echo finished", output: log.handler) }
    while log.stdout.isEmpty { try await Task.sleep(for: .milliseconds(20)) }
    task.cancel()
    let result = await task.result
    #expect(throws: CancellationError.self) { try result.get() }
    #expect(log.stdout == ["started"])
    // The session is still usable.
    #expect(try await session.run("true", output: { _ in }) == .exited(0))
  }

  @Test func aDroppedConnectionIsADisconnectNotAHang() async throws {
    // A server of its own: this test kills sshd's connection processes.
    let key = try SSHKeyPair.generateEd25519()
    let server = try await SSHServer(authorizing: [key.publicKeyLine])
    let session = try await SSHSession.connect(
      SSHConnectionConfig(
        host: "127.0.0.1", port: server.port, username: server.user, authentication: [.privateKey(pem: key.privateKeyPEM)]))
    let log = OutputLog()
    let task = Task { try await session.run("echo started; sleep 30", output: log.handler) }
    while log.stdout.isEmpty { try await Task.sleep(for: .milliseconds(20)) }
    _ = try await TestCommand.run(["pkill", "-KILL", "-P", String(server.sshdPID)])
    let result = try await task.value
    guard case .disconnected(let reason) = result else {
      Issue.record("expected a disconnect, got \(result)")
      return
    }
    #expect(!reason.isEmpty)
  }
}

@Suite struct SSHConnectorTests {
  @Test func connectsAndPausesBeforeConnectingAgain() async throws {
    var connector = SSHConnector(config: try await SharedSSH.config())
    connector.pauseBeforeConnecting = .milliseconds(50)
    let messages = Mutex<[String]>([])
    let session = try await connector.connect { line in messages.withLock { $0.append(line) } }
    #expect(try await session.run("true", output: { _ in }) == .exited(0))
    #expect(messages.withLock { $0 } == ["pausing 0s before connecting again"])
  }

  @Test func aClosedPortIsRetriedUntilCancelled() async throws {
    let closed = try ClosedPort()
    var config = try await SharedSSH.config()
    config.port = closed.port
    var connector = SSHConnector(config: config)
    connector.timeout = .seconds(600)
    connector.retryDelay = .milliseconds(10)
    let attempts = Mutex(0)
    let task = Task { try await connector.connect { _ in attempts.withLock { $0 += 1 } } }
    while attempts.withLock({ $0 }) < 3 { try await Task.sleep(for: .milliseconds(10)) }
    task.cancel()
    let result = await task.result
    #expect(throws: CancellationError.self) { try result.get() }
    withExtendedLifetime(closed) {}
  }

  @Test func theTimeoutNamesTheLastError() async throws {
    let closed = try ClosedPort()
    var config = try await SharedSSH.config()
    config.port = closed.port
    var connector = SSHConnector(config: config)
    connector.timeout = .seconds(1)
    connector.retryDelay = .milliseconds(10)
    do {
      _ = try await connector.connect()
      Issue.record("connected to a closed port")
    } catch let error as SSHError {
      #expect(error.kind == .connect)
      #expect(
        error.message
          == "timeout waiting for SSH on 127.0.0.1:\(closed.port) after 1s; the last attempt said: dial tcp 127.0.0.1:\(closed.port): Connection refused"
      )
    }
  }

  @Test func authenticationFailuresStopAfterTheHandshakeAttempts() async throws {
    var config = try await SharedSSH.config()
    config.authentication = [.privateKey(pem: try SSHKeyPair.generateEd25519().privateKeyPEM)]
    var connector = SSHConnector(config: config)
    connector.handshakeAttempts = 3
    connector.retryDelay = .milliseconds(10)
    connector.authenticationFailureDelay = .milliseconds(10)
    let attempts = Mutex(0)
    do {
      _ = try await connector.connect { _ in attempts.withLock { $0 += 1 } }
      Issue.record("a wrong key was accepted")
    } catch let error as SSHError {
      #expect(error.kind == .authentication)
      #expect(error.message.contains("gave up after 3 attempts"))
    }
    #expect(attempts.withLock { $0 } == 2, "two retries reported, the third failure thrown")
  }
}

@Suite struct SSHAuthenticationAndRestartTests {
  @Test func logsInThroughAnSSHAgent() async throws {
    let directory = try Scratch.directory("kiln-agent")
    let socket = directory.appendingPathComponent("agent.sock").path
    let agent = try await ChildProcess.start("/usr/bin/ssh-agent", arguments: ["-D", "-a", socket]) { _, _ in }
    defer { agent.signal(SIGKILL) }
    while !FileManager.default.fileExists(atPath: socket) { try await Task.sleep(for: .milliseconds(10)) }
    let keyFile = directory.appendingPathComponent("id_ed25519").path
    try SharedSSH.key.get().write(to: keyFile)
    let added = try await TestCommand.run(["/usr/bin/ssh-add", keyFile], environment: ["SSH_AUTH_SOCK": socket])
    #expect(added.status == 0, "\(added.output)")

    var config = try await SharedSSH.config()
    config.authentication = [.agent(socketPath: socket)]
    let session = try await SSHSession.connect(config)
    #expect(try await session.run("true", output: { _ in }) == .exited(0))

    config.authentication = [.agent(socketPath: directory.appendingPathComponent("none.sock").path)]
    do {
      _ = try await SSHSession.connect(config)
      Issue.record("logged in with no agent")
    } catch let error as SSHError {
      #expect(error.kind == .authentication)
      #expect(error.message.contains("ssh-agent: cannot connect to the agent at"), "\(error)")
    }
  }

  @Test func reconnectsAfterSSHDRestarts() async throws {
    let key = try SSHKeyPair.generateEd25519()
    var server: SSHServer? = try await SSHServer(authorizing: [key.publicKeyLine])
    let port = try #require(server?.port)
    let config = SSHConnectionConfig(
      host: "127.0.0.1", port: port, username: try #require(server?.user), authentication: [.privateKey(pem: key.privateKeyPEM)])
    let first = try await SSHSession.connect(config)
    #expect(try await first.run("true", output: { _ in }) == .exited(0))
    // sshd and every connection of it go away (as in a reboot).
    _ = try await TestCommand.run(["pkill", "-KILL", "-P", String(server!.sshdPID)])
    await server?.server.stop()
    server = nil
    let dead = try await first.run("true", output: { _ in })
    if case .disconnected = dead {} else { Issue.record("expected a disconnect, got \(dead)") }
    // It comes back on the same port; a new connection works.
    let restarted = try await SSHServer(authorizing: [key.publicKeyLine], port: port)
    var connector = SSHConnector(config: config)
    connector.retryDelay = .milliseconds(50)
    connector.timeout = .seconds(60)
    let second = try await connector.connect()
    #expect(try await second.run("echo back", output: { _ in }) == .exited(0))
    withExtendedLifetime(restarted) {}
  }
}

@Suite struct SSHBastionTests {
  @Test func commandsAndFilesGoThroughTheBastion() async throws {
    let key = try SSHKeyPair.generateEd25519()
    let bastion = try await SSHServer(authorizing: [key.publicKeyLine], debugLog: true)
    let target = try await SSHServer(authorizing: [key.publicKeyLine])
    var config = SSHConnectionConfig(
      host: "127.0.0.1", port: target.port, username: target.user, authentication: [.privateKey(pem: key.privateKeyPEM)])
    config.bastion = SSHBastion(host: "127.0.0.1", port: bastion.port, username: bastion.user, authentication: [.privateKey(pem: key.privateKeyPEM)])
    let session = try await SSHSession.connect(config)
    #expect(session.hostKeyFingerprint == target.hostKeyFingerprint, "the host key is the target's, not the bastion's")
    let log = OutputLog()
    #expect(try await session.run("echo through; head -c 3000000 /dev/zero | wc -c", output: log.handler) == .exited(0))
    #expect(log.stdout == ["through", "3000000"])
    let file = try Scratch.directory("kiln-bastion").appendingPathComponent("payload")
    try Data(repeating: 7, count: 5_000_000).write(to: file)
    try await session.upload(file.path, to: "/tmp/kiln-bastion-upload")
    let size = OutputLog()
    #expect(try await session.run("stat -c %s /tmp/kiln-bastion-upload && rm /tmp/kiln-bastion-upload", output: size.handler) == .exited(0))
    #expect(size.stdout == ["5000000"])
    #expect(bastion.log.contains("direct-tcpip"), "the bastion forwarded the connection")
  }

  @Test func aRefusedBastionLoginNamesTheBastion() async throws {
    let key = try SSHKeyPair.generateEd25519()
    let bastion = try await SSHServer(authorizing: [key.publicKeyLine])
    var config = try await SharedSSH.config()
    config.bastion = SSHBastion(
      host: "127.0.0.1", port: bastion.port, username: bastion.user,
      authentication: [.privateKey(pem: try SSHKeyPair.generateEd25519().privateKeyPEM)])
    do {
      _ = try await SSHSession.connect(config)
      Issue.record("logged in to the bastion with a wrong key")
    } catch let error as SSHError {
      #expect(error.kind == .authentication)
      #expect(error.message.hasPrefix("bastion 127.0.0.1:\(bastion.port): ssh: unable to authenticate"), "\(error)")
    }
  }
}

@Suite struct SSHPTYTests {
  @Test func aRequestedPTYIsATerminal() async throws {
    var config = try await SharedSSH.config()
    let plain = try await SSHSession.connect(config)
    #expect(try await plain.run("test -t 1", output: { _ in }) == .exited(1))
    config.requestPTY = true
    let session = try await SSHSession.connect(config)
    let log = OutputLog()
    #expect(try await session.run("test -t 1 && tty", output: log.handler) == .exited(0))
    // `tty` prints last; in a PTY the login shell's own noise (this machine's pyenv init in
    // root's .bashrc, racing other shells) can come first on the same stream.
    #expect(log.stdout.last?.hasPrefix("/dev/pts/") == true, "\(log.stdout)")
  }
}

@Suite struct SSHKeyTypeTests {
  /// OpenSSH 9.2 refuses libssh2 1.10's SHA-1 RSA signatures: the error says why and what to do.
  @Test func aRefusedRSAKeyGetsAnExplanation() async throws {
    let directory = try Scratch.directory("kiln-rsa")
    let keyFile = directory.appendingPathComponent("id_rsa").path
    let keygen = try await TestCommand.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", keyFile])
    try #require(keygen.status == 0, "\(keygen.output)")
    let publicKey = try String(contentsOfFile: keyFile + ".pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    let server = try await SSHServer(authorizing: [publicKey])
    let config = SSHConnectionConfig(host: "127.0.0.1", port: server.port, username: server.user, authentication: [.privateKeyFile(path: keyFile)])
    do {
      _ = try await SSHSession.connect(config)
      Issue.record("an RSA key was accepted: this sshd allows ssh-rsa, so the check proves nothing here")
    } catch let error as SSHError {
      #expect(error.kind == .authentication)
      #expect(error.message.contains("this is an RSA key: libssh2 1.10 signs RSA only with SHA-1"), "\(error)")
    }
  }
}

/// sshd checks passwords against the system's accounts, so this creates (once) a throwaway
/// user `kiln-pw-test` and sets its password: only as root on a CI machine, or when asked
/// with KILN_SYSTEM_TESTS=1.
@Suite(
  .enabled(
    if: getuid() == 0 && (ProcessInfo.processInfo.environment["CI"] == "true" || ProcessInfo.processInfo.environment["KILN_SYSTEM_TESTS"] == "1")))
struct SSHPasswordTests {
  static let user = "kiln-pw-test"

  func sh(_ command: String) async throws -> Int32 {
    try await TestCommand.run(["sh", "-c", command]).status
  }

  @Test func passwordAuthentication() async throws {
    let password = "kiln-\(UUID().uuidString)"
    #expect(try await sh("id \(Self.user) >/dev/null 2>&1 || useradd -M -d /tmp -s /bin/sh \(Self.user)") == 0)
    #expect(try await sh("echo '\(Self.user):\(password)' | chpasswd") == 0)
    let server = try await SSHServer(authorizing: [], passwordUser: Self.user)
    let config = SSHConnectionConfig(host: "127.0.0.1", port: server.port, username: Self.user, authentication: [.password(password)])
    let session = try await SSHSession.connect(config)
    let log = OutputLog()
    #expect(try await session.run("id -un", output: log.handler) == .exited(0))
    #expect(log.stdout == [Self.user])
    var wrong = config
    wrong.authentication = [.password("not-it")]
    await #expect(throws: SSHError.self) { try await SSHSession.connect(wrong) }
  }
}
