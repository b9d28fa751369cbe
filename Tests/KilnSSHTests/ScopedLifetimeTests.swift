import Foundation
import KilnCore
import KilnSSH
import Synchronization
import Testing
import _KilnTestSupport

/// `withSession` closes the session on every way out of its scope, and SFTP handles are
/// closed when a transfer fails inside them.
@Suite struct ScopedLifetimeTests {
  struct Planned: Error, Equatable {}

  /// A closed session refuses work with this message (it no longer holds libssh2 handles).
  func expectClosed(_ session: SSHSession) async {
    do {
      _ = try await session.run("true", output: { _ in })
      Issue.record("a session left its scope open")
    } catch let error as SSHError {
      #expect(error.message == "the SSH session is closed")
    } catch {
      Issue.record("unexpected \(error)")
    }
  }

  @Test func returnsTheBodysValueAndCloses() async throws {
    let escaped = Mutex<SSHSession?>(nil)
    let log = OutputLog()
    let status = try await SSHSession.withSession(try await SharedSSH.config()) { session in
      escaped.withLock { $0 = session }
      return try await session.run("echo scoped", output: log.handler)
    }
    #expect(status == .exited(0))
    #expect(log.stdout == ["scoped"])
    await expectClosed(try #require(escaped.withLock { $0 }))
  }

  @Test func closesWhenTheBodyThrowsAndKeepsItsError() async throws {
    let escaped = Mutex<SSHSession?>(nil)
    await #expect(throws: Planned()) {
      try await SSHSession.withSession(try await SharedSSH.config()) { session in
        escaped.withLock { $0 = session }
        throw Planned()
      }
    }
    await expectClosed(try #require(escaped.withLock { $0 }))
  }

  @Test func closesWhenTheTaskIsCancelled() async throws {
    let config = try await SharedSSH.config()
    let escaped = Mutex<SSHSession?>(nil)
    let started = Mutex(false)
    let ended = Mutex(false)
    let task = Task {
      defer { ended.withLock { $0 = true } }
      return try await SSHSession.withSession(config) { session in
        escaped.withLock { $0 = session }
        return try await session.run("echo started; sleep 300", output: { _ in started.withLock { $0 = true } })
      }
    }
    // Waits for the event, not for a time: on a loaded two-core machine the whole suite's
    // tasks share two threads, and connecting can take longer than any fixed wait. The task
    // ending first (connecting failed, or the command ended) is a failure of its own.
    while !started.withLock({ $0 }), !ended.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(20)) }
    if !started.withLock({ $0 }) {
      Issue.record("the command's first line never arrived: \(await task.result)")
      return
    }
    task.cancel()
    let outcome = await task.result
    #expect(throws: CancellationError.self) { try outcome.get() }
    await expectClosed(try #require(escaped.withLock { $0 }))
  }

  @Test func theConnectorsScopeClosesToo() async throws {
    let connector = SSHConnector(config: try await SharedSSH.config())
    let escaped = Mutex<SSHSession?>(nil)
    let fingerprint = try await connector.withSession { session in
      escaped.withLock { $0 = session }
      return session.hostKeyFingerprint
    }
    #expect(fingerprint == (try await SharedSSH.server.get().hostKeyFingerprint))
    await expectClosed(try #require(escaped.withLock { $0 }))
  }

  /// A download that fails after its remote file was opened (the local temporary file cannot
  /// be created) closes the remote handle: the session goes on transferring, many times over.
  @Test func aTransferFailingInsideAnOpenHandleLeavesTheSessionUsable() async throws {
    let local = try Scratch.directory("kiln-scoped")
    let source = local.appendingPathComponent("source.txt").path
    try "payload\n".write(toFile: source, atomically: true, encoding: .utf8)
    let remote = "/tmp/kiln-scoped-\(UUID().uuidString).txt"
    let blocked = local.appendingPathComponent("blocked.txt").path
    // The download writes into `<target>.kiln-partial` first: a directory there makes it fail.
    try FileManager.default.createDirectory(atPath: blocked + ".kiln-partial", withIntermediateDirectories: true)
    try await SSHSession.withSession(try await SharedSSH.config()) { session in
      try await session.upload(source, to: remote)
      for _ in 0..<40 {
        let error = await #expect(throws: SSHError.self) { try await session.download(remote, to: blocked) }
        #expect(error?.message.hasPrefix("download: cannot write \(blocked)") == true, "\(String(describing: error))")
      }
      // sshd runs on this machine: count the sftp-server processes (this session's at least)
      // and their descriptors still open on the remote file (none).
      let log = OutputLog()
      let count = """
        n=0; m=0; for f in /proc/[0-9]*/cmdline; do if grep -qa 'openssh/sftp-serve[r]' $f 2>/dev/null; then \
        n=$((n+1)); m=$((m + $(ls -l ${f%cmdline}fd 2>/dev/null | grep -c \(remote)))); fi; done; echo $n $m
        """
      #expect(try await session.run(count, output: log.handler) == .exited(0))
      let counts = log.stdout.first?.split(separator: " ").compactMap { Int($0) } ?? []
      #expect(counts.count == 2 && counts[0] >= 1 && counts[1] == 0, "\(log.stdout)")
      let copy = local.appendingPathComponent("copy.txt").path
      try await session.download(remote, to: copy)
      #expect(try String(contentsOfFile: copy, encoding: .utf8) == "payload\n")
      try await session.remove([remote])
    }
  }
}
