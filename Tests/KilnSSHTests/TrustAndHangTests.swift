import Foundation
import KilnCore
import KilnSSH
import Synchronization
import Testing
import _KilnTestSupport

/// The wait a test allows for something that must end: past it the operation is cancelled
/// and the test fails with `BoundExceeded`, instead of hanging the suite.
struct BoundExceeded: Error, CustomStringConvertible {
  var bound: Duration
  var description: String { "still not done after \(bound)" }
}

func within<T: Sendable>(_ bound: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
  let work = Task { try await body() }
  return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
    let once = ResumeOnce(continuation)
    let timer = Task {
      try? await Task.sleep(for: bound)
      work.cancel()
      once.resume(with: .failure(BoundExceeded(bound: bound)))
    }
    Task {
      let result = await work.result
      timer.cancel()
      once.resume(with: result)
    }
  }
}

/// A continuation that the first of two racers resumes.
final class ResumeOnce<T: Sendable>: Sendable {
  private let continuation: Mutex<CheckedContinuation<T, any Error>?>
  init(_ continuation: CheckedContinuation<T, any Error>) { self.continuation = Mutex(continuation) }
  func resume(with result: Result<T, any Error>) { continuation.withLock { $0.take() }?.resume(with: result) }
}

@Suite struct SFTPRefusedTests {
  /// `broken`: the subsystem's program exits at once (as sshd's child does when it cannot
  /// enter an unsafe ChrootDirectory); libssh2 1.10 alone waits for its answer forever.
  @Test(arguments: [SSHServer.SFTP.broken, .none])
  func aRefusedSFTPSubsystemIsAnErrorNotAHang(sftp: SSHServer.SFTP) async throws {
    let key = try SSHKeyPair.generateEd25519()
    let server = try await SSHServer(authorizing: [key.publicKeyLine], sftp: sftp)
    let session = try await SSHSession.connect(
      SSHConnectionConfig(
        host: "127.0.0.1", port: server.port, username: server.user, authentication: [.privateKey(pem: key.privateKeyPEM)]))
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-sftp-refused-\(UUID().uuidString)")
    try Data("x".utf8).write(to: file)
    defer { try? FileManager.default.removeItem(at: file) }
    do {
      try await within(.seconds(60)) { try await session.upload(file.path, to: "/tmp/kiln-sftp-refused") }
      Issue.record("the upload succeeded without SFTP")
    } catch let error as SSHError {
      #expect(error.kind == .channel)
      #expect(error.message.hasPrefix("cannot start SFTP on 127.0.0.1:\(server.port): "), "\(error)")
      if sftp == .broken {
        #expect(error.message.contains("the server's sftp subsystem ended without answering (exit status 1"), "\(error)")
      } else {
        #expect(error.message.contains("the server refused the sftp subsystem"), "\(error)")
        #expect(error.message.contains("libssh2 error"), "libssh2's own message is kept: \(error)")
      }
    }
    // Commands still work on the session.
    #expect(try await session.run("true", output: { _ in }) == .exited(0))
  }
}

@Suite struct OutputBoundsTests {
  @Test func cancellingACommandThatFloodsOutputStopsIt() async throws {
    let session = try await SharedSSH.session()
    let lines = Mutex(0)
    let task = Task { try await session.run("yes", output: { _ in lines.withLock { $0 += 1 } }) }
    while lines.withLock({ $0 }) < 10_000 { try await Task.sleep(for: .milliseconds(10)) }
    task.cancel()
    let result = try await within(.seconds(60)) { await task.result }
    #expect(throws: CancellationError.self) { try result.get() }
    #expect(try await within(.seconds(60)) { try await session.run("true", output: { _ in }) } == .exited(0))
  }

  @Test func tenMegabytesWithoutANewlineArriveWholeInBoundedPieces() async throws {
    let session = try await SharedSSH.session()
    let seen = Mutex((bytes: 0, pieces: 0, largest: 0, other: 0))
    let result = try await session.run("head -c 10485760 /dev/zero | tr '\\0' a") { line in
      guard case .stdout(let text) = line else { return }
      let count = text.utf8.count
      let other = text.utf8.filter { $0 != UInt8(ascii: "a") }.count
      seen.withLock {
        $0.bytes += count
        $0.pieces += 1
        $0.largest = max($0.largest, count)
        $0.other += other
      }
    }
    #expect(result == .exited(0))
    let total = seen.withLock { $0 }
    #expect(total.bytes == 10 * 1024 * 1024)
    #expect(total.other == 0)
    #expect(total.largest <= 64 * 1024, "the line buffer is bounded: the largest piece had \(total.largest) bytes")
    #expect(total.pieces == 160)
  }

  @Test func aLongLineIsCutBetweenCharacters() async throws {
    let session = try await SharedSSH.session()
    let pieces = Mutex<[String]>([])
    // 300,000 two-byte characters: 600,000 bytes, no newline.
    let result = try await session.run("python3 -c \"import sys; sys.stdout.write('\\u00e9' * 300000)\"") { line in
      if case .stdout(let text) = line { pieces.withLock { $0.append(text) } }
    }
    #expect(result == .exited(0))
    let all = pieces.withLock { $0 }
    #expect(all.count > 1)
    #expect(all.joined() == String(repeating: "é", count: 300_000), "no character was split into replacement characters")
  }
}

@Suite struct HostKeyPinningTests {
  @Test func aReconnectionToAnotherHostKeyFailsNamingBoth() async throws {
    let key = try SSHKeyPair.generateEd25519()
    var server: SSHServer? = try await SSHServer(authorizing: [key.publicKeyLine])
    let port = try #require(server?.port)
    let firstKey = try #require(server?.hostKeyFingerprint)
    let config = SSHConnectionConfig(
      host: "127.0.0.1", port: port, username: try #require(server?.user), authentication: [.privateKey(pem: key.privateKeyPEM)])
    var connector = SSHConnector(config: config)
    connector.retryDelay = .milliseconds(50)
    connector.timeout = .seconds(60)
    let communicator = ReconnectingCommunicator(connector: connector, first: try await connector.connect())
    #expect(try await communicator.run("true", output: { _ in }) == .exited(0))
    // The machine "reboots"; another server, with another host key, answers at its address.
    _ = try await TestCommand.run(["pkill", "-KILL", "-P", String(server!.sshdPID)])
    await server?.server.stop()
    server = nil
    let dropped = try await within(.seconds(60)) { try await communicator.run("true", output: { _ in }) }
    if case .disconnected = dropped {} else { Issue.record("expected a disconnect, got \(dropped)") }
    let impostor = try await SSHServer(authorizing: [key.publicKeyLine], port: port)
    #expect(impostor.hostKeyFingerprint != firstKey)
    do {
      _ = try await within(.seconds(60)) { try await communicator.run("true", output: { _ in }) }
      Issue.record("a different host key was accepted after the reconnection")
    } catch let error as SSHError {
      #expect(error.kind == .hostKeyMismatch)
      #expect(error.message.contains("is \(impostor.hostKeyFingerprint), not the expected \(firstKey)"), "\(error)")
      #expect(error.message.contains("pinned for the build"), "\(error)")
    }
  }

  @Test func theSameHostKeyAfterARestartIsAccepted() async throws {
    let key = try SSHKeyPair.generateEd25519()
    let server = try await SSHServer(authorizing: [key.publicKeyLine])
    let config = SSHConnectionConfig(
      host: "127.0.0.1", port: server.port, username: server.user, authentication: [.privateKey(pem: key.privateKeyPEM)])
    let connector = SSHConnector(config: config)
    let communicator = ReconnectingCommunicator(connector: connector, first: try await connector.connect())
    #expect(communicator.connector.config.expectedHostKeyFingerprint == server.hostKeyFingerprint)
    // Dropping sshd's connection processes (not sshd): the reconnection meets the same key.
    _ = try await TestCommand.run(["pkill", "-KILL", "-P", String(server.sshdPID)])
    _ = try await within(.seconds(60)) { try await communicator.run("true", output: { _ in }) }
    #expect(try await within(.seconds(60)) { try await communicator.run("echo again", output: { _ in }) } == .exited(0))
    await communicator.close()
  }
}

@Suite struct SessionTeardownTests {
  /// Many failed connections in a row, each freeing its handles before the error is seen,
  /// and a closed session refusing further work instead of touching freed handles.
  @Test func failedConnectionsAndClosedSessionsAreFreedOnce() async throws {
    var config = try await SharedSSH.config()
    config.expectedHostKeyFingerprint = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    for _ in 0..<20 {
      await #expect(throws: SSHError.self) { _ = try await SSHSession.connect(config) }
    }
    let session = try await SharedSSH.session()
    try await session.close()
    try await session.close()
    do {
      _ = try await session.run("true", output: { _ in })
      Issue.record("a closed session ran a command")
    } catch let error as SSHError {
      #expect(error.message == "the SSH session is closed")
    }
  }
}
