import Foundation
import KilnCore
import Synchronization
import Testing

/// The process runner behind shell-local: lines as they come, bounded, whole characters.
@Suite struct ChildProcessTests {
  /// A line longer than the bound arrives in pieces cut between UTF-8 characters: joined
  /// again they are the output, and no piece holds a replacement character.
  @Test(.timeLimit(.minutes(1))) func aLongLineIsCutBetweenCharacters() async throws {
    let count = 50_000 // "é" is 2 bytes: 100,000 bytes, past the 64 KiB bound, odd cut
    let lines = Mutex<[String]>([])
    let ended = try await ChildProcess.run(
      "/bin/sh",
      arguments: [
        "-c",
        "printf 'x'; i=0; s=''; while [ $i -lt 100 ]; do s=\"$s\u{e9}\"; i=$((i+1)); done; j=0; while [ $j -lt \(count / 100) ]; do printf '%s' \"$s\"; j=$((j+1)); done; printf '\\nnext\\n'",
      ],
      environment: ["PATH": "/usr/bin:/bin", "LC_ALL": "C"]
    ) { stream, line in
      if stream == .stdout { lines.withLock { $0.append(line) } }
    }
    #expect(ended.shellStatus == 0)
    let got = lines.withLock { $0 }
    #expect(got.count >= 3, "\(got.count) pieces")
    #expect(got.allSatisfy { !$0.contains("\u{FFFD}") }, "a piece was cut inside a character")
    #expect(got.allSatisfy { $0.utf8.count <= ChildProcess.maximumLineBytes })
    #expect(got.dropLast().joined() == "x" + String(repeating: "\u{e9}", count: count))
    #expect(got.last == "next")
  }
}

/// What `ChildProcess` adds to swift-subprocess, and what it must keep from the runner it
/// replaced: no hang on pipes a grandchild holds, SIGTERM on cancellation with the output
/// still read, nothing inherited, bounded capture, kills that reach a process group.
@Suite struct ChildProcessGuaranteeTests {
  static let environment = ["PATH": "/usr/bin:/bin"]

  /// Gathers lines as `run` hands them over.
  final class Lines: Sendable {
    let lines = Mutex<[String]>([])
    func add(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
  }

  @Test(.timeLimit(.minutes(1))) func aBackgroundProcessHoldingThePipesDoesNotKeepTheCallWaiting() async throws {
    let lines = Lines()
    let started = ContinuousClock.now
    let ended = try await ChildProcess.run(
      "/bin/sh", arguments: ["-c", "echo before; sleep 30 & echo after; exit 4"], environment: Self.environment
    ) { _, line in lines.add(line) }
    #expect(ended == .exited(4))
    #expect(lines.all == ["before", "after"])
    #expect(ContinuousClock.now - started < .seconds(20), "waited for the background sleep")
  }

  /// A process left behind that keeps writing gets a few reads after the child's exit, not
  /// the call's whole life (here 2 GB of "y" lines would take a minute and more).
  @Test(.timeLimit(.minutes(1))) func aBackgroundProcessThatKeepsWritingDoesNotKeepTheCallGoing() async throws {
    let lines = Lines()
    let started = ContinuousClock.now
    let ended = try await ChildProcess.run(
      "/bin/sh", arguments: ["-c", "(yes | head -c 2000000000) & sleep 0.5; echo started"], environment: Self.environment
    ) { _, line in if line != "y" { lines.add(line) } }
    #expect(ended == .exited(0))
    #expect(lines.all == ["started"])
    #expect(ContinuousClock.now - started < .seconds(20))
  }

  @Test(.timeLimit(.minutes(1))) func cancellingSendsSIGTERMAndStillReadsTheLastWords() async throws {
    let lines = Lines()
    let task = Task {
      try await ChildProcess.run(
        "/bin/sh", arguments: ["-c", "trap 'echo cleaning up; exit 3' TERM; echo ready; while :; do sleep 0.05; done"],
        environment: Self.environment
      ) { _, line in lines.add(line) }
    }
    while !lines.all.contains("ready") { try await Task.sleep(for: .milliseconds(20)) }
    task.cancel()
    await #expect(throws: CancellationError.self) { try await task.value }
    #expect(lines.all.contains("cleaning up"), "\(lines.all)")
  }

  @Test func standardInputIsDevNullAndNothingElseIsInherited() async throws {
    // A descriptor this process holds, not close-on-exec: the child must not get it.
    let leaked = open("/dev/null", O_RDONLY)
    defer { close(leaked) }
    let lines = Lines()
    let ended = try await ChildProcess.run(
      "/bin/sh", arguments: ["-c", "readlink /proc/self/fd/0; exec /bin/ls /proc/self/fd"], environment: Self.environment
    ) { _, line in lines.add(line) }
    #expect(ended == .exited(0))
    // ls opens one directory of its own (3) to list.
    #expect(lines.all == ["/dev/null", "0", "1", "2", "3"], "\(lines.all)")
  }

  @Test func aMissingProgramIsASpawnFailure() async throws {
    do {
      _ = try await ChildProcess.run("/nonexistent/kiln-tool", arguments: [], environment: [:]) { _, _ in }
      Issue.record("a missing program ran")
    } catch let error as ChildProcess.SpawnFailed {
      #expect(error.description.hasPrefix("could not start /nonexistent/kiln-tool: "), "\(error)")
    }
  }

  @Test(.timeLimit(.minutes(1))) func captureKeepsTheOutputAndTheTailOfStandardError() async throws {
    let captured = try await ChildProcess.capture(
      "/bin/sh", arguments: ["-c", "echo out; i=0; while [ $i -lt 300 ]; do echo error-line-$i >&2; i=$((i+1)); done; cat; exit 2"],
      environment: Self.environment, input: Array("from stdin\n".utf8), errorLimit: 32)
    #expect(captured.termination == .exited(2))
    #expect(captured.outputText == "out\nfrom stdin\n")
    #expect(captured.errorCut)
    #expect(captured.errorTail.count <= 32)
    #expect(captured.errorText.hasSuffix("error-line-299\n"))
    #expect(captured.stopped == nil)
  }

  @Test(.timeLimit(.minutes(1))) func captureStopsAFloodAtTheLimit() async throws {
    let captured = try await ChildProcess.capture("/bin/cat", arguments: ["/dev/zero"], outputLimit: 100_000)
    #expect(captured.stopped == .outputLimit)
    #expect(captured.output.count == 100_000)
    #expect(captured.termination == .signaled(SIGKILL) || captured.termination == .signaled(SIGPIPE))
  }

  /// A timeout kills the whole group: the shell and what it left in the background.
  @Test(.timeLimit(.minutes(1))) func aTimeoutKillsTheProcessGroup() async throws {
    let pidFile = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-group-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: pidFile) }
    let captured = try await ChildProcess.capture(
      "/bin/sh", arguments: ["-c", "echo started; sleep 1000 & echo $! > \(pidFile); wait"], environment: Self.environment,
      timeout: .seconds(1), ownProcessGroup: true)
    #expect(captured.stopped == .timedOut)
    #expect(captured.outputText == "started\n")
    let sleeper = try #require(Int32(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
    var gone = false
    for _ in 0..<100 where !gone {
      gone = kill(sleeper, 0) != 0 || (try? String(contentsOfFile: "/proc/\(sleeper)/stat", encoding: .utf8))?.contains(") Z ") == true
      if !gone { try await Task.sleep(for: .milliseconds(50)) }
    }
    #expect(gone, "the background sleep \(sleeper) outlived the group kill")
  }

  @Test(.timeLimit(.minutes(1))) func aStartedChildIsWrittenToSignalledAndAwaited() async throws {
    let output = Lines()
    let child = try await ChildProcess.start(
      "/bin/sh", arguments: ["-c", "trap 'echo interrupted; exit 7' INT; read line; echo got $line; while :; do sleep 0.05; done"],
      environment: Self.environment, keepInputOpen: true
    ) { _, bytes in output.add(String(decoding: bytes, as: UTF8.self)) }
    #expect(child.pid > 0)
    child.write(Array("hello\n".utf8))
    while !output.all.joined().contains("got hello") { try await Task.sleep(for: .milliseconds(20)) }
    #expect(!child.hasEnded)
    child.signal(SIGINT)
    #expect(try await child.termination() == .exited(7))
    #expect(child.hasEnded)
    #expect(output.all.joined() == "got hello\ninterrupted\n")
  }

  /// Scripts written while other children are being spawned run: none is "Text file busy".
  @Test(.timeLimit(.minutes(1))) func aScriptWrittenWhileOthersSpawnRuns() async throws {
    let directory = FileManager.default.temporaryDirectory
    try await withThrowingTaskGroup(of: Void.self) { group in
      for _ in 0..<3 {
        group.addTask {
          for _ in 0..<100 { _ = try await ChildProcess.run("/bin/true", arguments: [], environment: [:]) { _, _ in } }
        }
      }
      group.addTask {
        for index in 0..<100 {
          let path = directory.appendingPathComponent("kiln-script-\(UUID().uuidString).sh").path
          defer { unlink(path) }
          try await ChildProcess.writeExecutable("#!/bin/sh\necho \(index)\n", to: path)
          let lines = Lines()
          #expect(try await ChildProcess.run(path, arguments: [], environment: [:]) { _, line in lines.add(line) } == .exited(0))
          #expect(lines.all == ["\(index)"])
        }
      }
      try await group.waitForAll()
    }
  }

  @Test func writeExecutableMakesAnOwnerOnlyScriptAndNeverOverwrites() async throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-script-\(UUID().uuidString).sh").path
    defer { unlink(path) }
    try await ChildProcess.writeExecutable("#!/bin/sh\n", to: path)
    let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    #expect(mode & 0o777 == 0o700)
    await #expect(throws: (any Error).self) { try await ChildProcess.writeExecutable("#!/bin/sh\nrm -rf /\n", to: path) }
    #expect(try String(contentsOfFile: path, encoding: .utf8) == "#!/bin/sh\n")
  }
}
