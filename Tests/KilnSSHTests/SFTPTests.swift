import Foundation
import KilnCore
import KilnSSH
import Synchronization
import Testing
import _KilnTestSupport

/// Uploads and downloads over SFTP to the real sshd, compared byte for byte.
@Suite struct SFTPTests {
  let local: URL
  let remote: String

  init() throws {
    local = try Scratch.directory("kiln-sftp")
    remote = "/tmp/kiln-sftp-remote-\(UUID().uuidString)"
  }

  func shell(_ command: String) async throws -> String {
    try await TestCommand.run(["sh", "-c", command], includeStderr: false).output.trimmingCharacters(in: .whitespacesAndNewlines)
  }

  func remoteOutput(_ session: SSHSession, _ command: String) async throws -> [String] {
    let log = OutputLog()
    #expect(try await session.run(command, output: log.handler) == .exited(0))
    return log.stdout
  }

  @Test func a100MegabyteFileGoesUpAndComesBackIdentical() async throws {
    let session = try await SharedSSH.session()
    let source = local.appendingPathComponent("payload.bin").path
    _ = try await shell("head -c 104857600 /dev/urandom > '\(source)' && chmod 640 '\(source)'")
    let progress = Mutex<[Int64]>([])
    try await session.upload(source, to: remote + ".bin") { _, done, _ in progress.withLock { $0.append(done) } }
    #expect(progress.withLock { $0.last } == 104_857_600)
    #expect(progress.withLock { $0.count } >= 10, "progress is reported as the file streams")
    let remoteSum = try await remoteOutput(session, "sha256sum \(remote).bin | cut -d' ' -f1; stat -c %a \(remote).bin")
    #expect(remoteSum == [try await shell("sha256sum '\(source)' | cut -d' ' -f1"), "640"])
    let back = local.appendingPathComponent("back.bin").path
    try await session.download(remote + ".bin", to: back)
    #expect(try await shell("sha256sum '\(back)' | cut -d' ' -f1") == remoteSum[0])
    #expect(try await shell("stat -c %a '\(back)'") == "644")
    _ = try await session.run("rm -f \(remote).bin", output: { _ in })
  }

  func makeTree() async throws -> String {
    let tree = local.appendingPathComponent("tree").path
    _ = try await shell(
      """
      mkdir -p '\(tree)/a/b/c' '\(tree)/empty-dir' && printf 'top' > '\(tree)/top.txt' && : > '\(tree)/a/empty.txt' \
      && printf 'deep' > '\(tree)/a/b/c/deep.sh' && chmod 755 '\(tree)/a/b/c/deep.sh' && chmod 600 '\(tree)/top.txt'
      """)
    return tree
  }

  static let treeListing = [
    "a 755 d", "a/b 755 d", "a/b/c 755 d", "a/b/c/deep.sh 755 f 4", "a/empty.txt 644 f 0", "empty-dir 755 d", "top.txt 600 f 3",
  ]

  func listing(_ session: SSHSession, _ directory: String) async throws -> [String] {
    try await remoteOutput(session, "cd \(directory) && find . -mindepth 1 -printf '%P %m %y %s\\n' | sed 's/ d [0-9]*$/ d/' | sort")
  }

  @Test func aDirectoryWithoutTrailingSlashLandsInsideTheDestination() async throws {
    let session = try await SharedSSH.session()
    let tree = try await makeTree()
    _ = try await session.run("mkdir -p \(remote)", output: { _ in })
    try await session.upload(tree, to: remote)
    #expect(try await listing(session, remote + "/tree") == Self.treeListing)
    _ = try await session.run("rm -rf \(remote)", output: { _ in })
  }

  @Test func aDirectoryWithTrailingSlashCopiesItsContents() async throws {
    let session = try await SharedSSH.session()
    let tree = try await makeTree()
    _ = try await session.run("mkdir -p \(remote)", output: { _ in })
    try await session.upload(tree + "/", to: remote)
    #expect(try await listing(session, remote) == Self.treeListing)
    // And back down: `remote/` into a fresh folder gives the same tree.
    let back = local.appendingPathComponent("back").path
    try await session.download(remote + "/", to: back)
    #expect(try await shell("cd '\(back)' && find . -mindepth 1 -type f -printf '%P %s\\n' | sort") == "a/b/c/deep.sh 4\na/empty.txt 0\ntop.txt 3")
    #expect(try await shell("test -d '\(back)/empty-dir' && echo yes") == "yes")
    _ = try await session.run("rm -rf \(remote)", output: { _ in })
  }

  @Test func setsModesAndRemovesFilesWithoutAShell() async throws {
    let session = try await SharedSSH.session()
    let local = try Scratch.directory("kiln-mode").appendingPathComponent("script.sh")
    try "#!/bin/sh\necho ran\n".write(to: local, atomically: true, encoding: .utf8)
    let remote = "/tmp/kiln-mode-\(UUID().uuidString).sh"
    try await session.upload(local.path, to: remote)
    try await session.setMode(remote, 0o750)
    let log = OutputLog()
    #expect(try await session.run("stat -c %a \(remote) && \(remote)", output: log.handler) == .exited(0))
    #expect(log.stdout == ["750", "ran"])
    try await session.remove([remote, remote + ".missing"])
    try await session.remove([remote])
    #expect(try await session.run("test -e \(remote)", output: { _ in }) == .exited(1))
    await #expect(throws: SSHError.self) { try await session.setMode(remote, 0o700) }
  }

  @Test func aFileIntoADirectoryDestination() async throws {
    let session = try await SharedSSH.session()
    let file = local.appendingPathComponent("single.conf").path
    try "x=1\n".write(toFile: file, atomically: true, encoding: .utf8)
    _ = try await session.run("mkdir -p \(remote)", output: { _ in })
    try await session.upload(file, to: remote + "/")
    #expect(try await remoteOutput(session, "cat \(remote)/single.conf") == ["x=1"])
    _ = try await session.run("rm -rf \(remote)", output: { _ in })
  }

  @Test func clearErrorsForMissingFilesAndForbiddenPlaces() async throws {
    let session = try await SharedSSH.session()
    await #expect(throws: SSHError.self) { try await session.upload(local.appendingPathComponent("nope").path, to: "/tmp/x") }
    let file = local.appendingPathComponent("f").path
    try "f".write(toFile: file, atomically: true, encoding: .utf8)
    do {
      try await session.upload(file, to: "/nonexistent-dir-kiln/f")
      Issue.record("uploaded into a missing directory")
    } catch let error as SSHError {
      #expect(error.message.contains("opening /nonexistent-dir-kiln/f on 127.0.0.1: no such file or directory"), "\(error)")
    }
    do {
      try await session.download("/nonexistent-kiln-file", to: local.appendingPathComponent("g").path)
      Issue.record("downloaded a missing file")
    } catch let error as SSHError {
      #expect(error.message.contains("no such file or directory"), "\(error)")
    }
    #expect(!FileManager.default.fileExists(atPath: local.appendingPathComponent("g").path))
  }

  @Test func sshdKilledMidTransferIsAnErrorNotAHang() async throws {
    let key = try SSHKeyPair.generateEd25519()
    let server = try await SSHServer(authorizing: [key.publicKeyLine])
    let session = try await SSHSession.connect(
      SSHConnectionConfig(
        host: "127.0.0.1", port: server.port, username: server.user, authentication: [.privateKey(pem: key.privateKeyPEM)]))
    let source = local.appendingPathComponent("big.bin").path
    _ = try await shell("head -c 209715200 /dev/zero > '\(source)'")
    // The first progress report holds the transfer until the connection has been killed, so
    // the rest of the upload meets a dead connection however fast the machine is.
    let started = Mutex(false)
    let gate = DispatchSemaphore(value: 0)
    let upload = Task {
      try await session.upload(source, to: "/tmp/kiln-killed-\(UUID().uuidString)") { _, _, _ in
        let first = started.withLock { wasStarted in
          defer { wasStarted = true }
          return !wasStarted
        }
        if first { gate.wait() }
      }
    }
    while !started.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
    _ = try await shell("pkill -KILL -P \(server.sshdPID)")
    gate.signal()
    do {
      try await upload.value
      Issue.record("the upload finished though sshd was killed")
    } catch let error as SSHError {
      #expect(error.kind == .connectionLost || error.kind == .channel, "\(error)")
    }
  }
}
