import Foundation
import Synchronization
import Testing
import _KilnTestSupport

/// Runs the built `kiln` executable, as a user or CI script would.
struct KilnProcess {
  struct Result {
    var status: Int32
    var stdout: String
    var stderr: String
  }

  /// The `kiln` binary next to the test bundle in the build products directory.
  static var executable: URL {
    get throws {
      var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
      // On Linux the test runner is `<products>/kilnPackageTests.xctest`.
      while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("kiln").path),
        directory.pathComponents.count > 1
      {
        directory.deleteLastPathComponent()
      }
      let url = directory.appendingPathComponent("kiln")
      guard FileManager.default.isExecutableFile(atPath: url.path) else {
        throw KilnNotBuilt(searched: CommandLine.arguments[0])
      }
      return url
    }
  }

  struct KilnNotBuilt: Error, CustomStringConvertible {
    var searched: String
    var description: String { "the kiln executable was not found near \(searched); run `swift build` first" }
  }

  /// Runs `kiln ARGS` in `directory` with exactly `environment` (under `launcher` when given,
  /// e.g. `["/usr/bin/unshare", "-n"]`), waiting off the cooperative
  /// pool, a few at a time (`Turns.processes`). A kiln still running after `timeout` seconds is killed and the call throws with
  /// its output so far: a hang fails the test instead of blocking the suite.
  static func run(
    _ arguments: [String], in directory: URL? = nil, environment: [String: String]? = nil, input: String? = nil,
    timeout: Double = 300, launcher: [String] = []
  ) async throws -> Result {
    let executable = try executable
    return try await Turns.processes.withTurn { try await offThePool {
      let process = Process()
      // With a launcher (`unshare -n`): the launcher's path, its arguments, then kiln's.
      process.executableURL = launcher.first.map { URL(fileURLWithPath: $0) } ?? executable
      process.arguments = launcher.isEmpty ? arguments : launcher.dropFirst() + [executable.path] + arguments
      if let directory { process.currentDirectoryURL = directory }
      process.environment = environment ?? isolatedEnvironment()
      let out = Pipe()
      let err = Pipe()
      process.standardOutput = out
      process.standardError = err
      let stdin = Pipe()
      process.standardInput = input == nil ? FileHandle.nullDevice : stdin
      try process.run()
      if let input {
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
      }
      let watchdog = Watchdog(process, after: timeout)
      // Read both pipes while the process runs, so a large output cannot block it.
      let group = DispatchGroup()
      nonisolated(unsafe) var outData = Data()
      nonisolated(unsafe) var errData = Data()
      group.enter()
      DispatchQueue.global().async {
        outData = out.fileHandleForReading.readDataToEndOfFile()
        group.leave()
      }
      errData = err.fileHandleForReading.readDataToEndOfFile()
      group.wait()
      process.waitUntilExit()
      let result = Result(
        status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData, as: UTF8.self))
      if watchdog.fired() { throw TimedOut(arguments: arguments, seconds: timeout, output: result.stdout + result.stderr) }
      return result
    } }
  }

  struct TimedOut: Error, CustomStringConvertible {
    var arguments: [String]
    var seconds: Double
    var output: String
    var description: String { "kiln \(arguments.joined(separator: " ")) did not finish within \(Int(seconds)) s; its output so far:\n\(output)" }
  }

  /// A `kiln` process the test talks to while it runs (to interrupt it at a chosen moment).
  /// Its output (stdout and stderr together) is read by a thread of its own; the waits poll
  /// it from the test's task, each bounded.
  final class Running: Sendable {
    let process: Process
    private let output = Pipe()
    private let input: Pipe?
    private let received = Mutex<(text: String, closed: Bool)>(("", false))

    var text: String { received.withLock { $0.text } }

    /// - Parameter keepStdinOpen: standard input is a pipe the test holds open (a prompt
    ///   waits for a line instead of reading end of input); /dev/null otherwise.
    init(_ arguments: [String], in directory: URL, environment: [String: String]? = nil, keepStdinOpen: Bool = false) throws {
      let process = Process()
      process.executableURL = try KilnProcess.executable
      process.arguments = arguments
      process.currentDirectoryURL = directory
      process.environment = environment ?? KilnProcess.isolatedEnvironment()
      process.standardOutput = output
      process.standardError = output
      input = keepStdinOpen ? Pipe() : nil
      process.standardInput = input ?? FileHandle.nullDevice
      try process.run()
      self.process = process
      let handle = output.fileHandleForReading
      let reader = Thread { [self] in
        while true {
          let data = handle.availableData
          if data.isEmpty { break }
          self.received.withLock { $0.text += String(decoding: data, as: UTF8.self) }
        }
        self.received.withLock { $0.closed = true }
      }
      reader.name = "kiln-test-output"
      reader.start()
    }

    /// Waits until the output contains `marker`; throws, with the output so far, if the
    /// process closes its output first or `timeout` seconds pass.
    func waitFor(_ marker: String, timeout: Double = 120) async throws {
      let deadline = ContinuousClock.now + .seconds(timeout)
      while true {
        let (text, closed) = received.withLock { ($0.text, $0.closed) }
        if text.contains(marker) { return }
        if closed { throw NeverSaw(marker: marker, reason: "kiln closed its output", output: text) }
        if ContinuousClock.now >= deadline { throw NeverSaw(marker: marker, reason: "not within \(Int(timeout)) s", output: text) }
        try await Task.sleep(for: .milliseconds(20))
      }
    }

    struct NeverSaw: Error, CustomStringConvertible {
      var marker: String
      var reason: String
      var output: String
      var description: String { "never saw \"\(marker)\" (\(reason)); output so far:\n\(output)" }
    }

    func interrupt() { kill(process.processIdentifier, SIGINT) }

    /// Writes to kiln's standard input (with `keepStdinOpen`).
    func send(_ text: String) { input?.fileHandleForWriting.write(Data(text.utf8)) }

    /// Waits for the exit status and the rest of the output, for at most `timeout` seconds
    /// (then kills kiln and throws with its output).
    func finish(timeout: Double = 120) async throws -> Int32 {
      let deadline = ContinuousClock.now + .seconds(timeout)
      while process.isRunning || !received.withLock({ $0.closed }) {
        if ContinuousClock.now >= deadline {
          kill(process.processIdentifier, SIGKILL)
          throw NeverSaw(marker: "the exit", reason: "still running after \(Int(timeout)) s", output: text)
        }
        try await Task.sleep(for: .milliseconds(20))
      }
      process.waitUntilExit()
      return process.terminationStatus
    }

    deinit {
      if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
  }

  /// A minimal environment: no AWS settings from the developer's shell can leak into a test.
  static func isolatedEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
    var environment = [
      "PATH": "/usr/bin:/bin",
      "HOME": FileManager.default.temporaryDirectory.path,
      "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
      "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
      "AWS_EC2_METADATA_DISABLED": "true",
    ]
    environment.merge(extra) { $1 }
    return environment
  }
}

/// The shared corpus beside the repository (`../shared/conformance`).
enum SharedFixtures {
  static var root: URL {
    URL(fileURLWithPath: #filePath)
      .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("shared")
  }

  static var repository: URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
  }
}
