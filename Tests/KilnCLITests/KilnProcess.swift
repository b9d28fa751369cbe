import Foundation
import KilnCore
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
  /// e.g. `["/usr/bin/unshare", "-n"]`), through `ChildProcess.capture`, a few at a time
  /// (`Turns.processes`). A kiln still running after `timeout` seconds is killed and the call
  /// throws with its output so far: a hang fails the test instead of blocking the suite.
  /// `status` is the exit code, or 128 + the signal that ended kiln.
  static func run(
    _ arguments: [String], in directory: URL? = nil, environment: [String: String]? = nil, input: String? = nil,
    timeout: Double = 300, launcher: [String] = []
  ) async throws -> Result {
    let executable = try executable
    return try await Turns.processes.withTurn {
      // With a launcher (`unshare -n`): the launcher's path, its arguments, then kiln's.
      let captured = try await ChildProcess.capture(
        launcher.first ?? executable.path, arguments: launcher.isEmpty ? arguments : launcher.dropFirst() + [executable.path] + arguments,
        environment: environment ?? isolatedEnvironment(), directory: directory?.path, input: input.map { Array($0.utf8) },
        timeout: .seconds(timeout))
      let result = Result(status: captured.termination.shellStatus, stdout: captured.outputText, stderr: captured.errorText)
      if captured.stopped != nil { throw TimedOut(arguments: arguments, seconds: timeout, output: result.stdout + result.stderr) }
      return result
    }
  }

  struct TimedOut: Error, CustomStringConvertible {
    var arguments: [String]
    var seconds: Double
    var output: String
    var description: String { "kiln \(arguments.joined(separator: " ")) did not finish within \(Int(seconds)) s; its output so far:\n\(output)" }
  }

  /// A `kiln` process the test talks to while it runs (to interrupt it at a chosen moment),
  /// started with `ChildProcess.start`. Its output (stdout and stderr together) is gathered
  /// as it comes; the waits poll it from the test's task, each bounded.
  final class Running: Sendable {
    let process: ChildProcess.Running
    private let received: Received

    var text: String { received.text }

    /// - Parameter keepStdinOpen: standard input is a pipe the test holds open (a prompt
    ///   waits for a line instead of reading end of input); /dev/null otherwise.
    init(_ arguments: [String], in directory: URL, environment: [String: String]? = nil, keepStdinOpen: Bool = false) async throws {
      let received = Received()
      self.received = received
      process = try await ChildProcess.start(
        try KilnProcess.executable.path, arguments: arguments, environment: environment ?? KilnProcess.isolatedEnvironment(),
        directory: directory.path, keepInputOpen: keepStdinOpen
      ) { _, bytes in received.append(bytes) }
    }

    /// Waits until the output contains `marker`; throws, with the output so far, if kiln
    /// ends first or `timeout` seconds pass.
    func waitFor(_ marker: String, timeout: Double = 120) async throws {
      let deadline = ContinuousClock.now + .seconds(timeout)
      while true {
        let ended = process.hasEnded
        let text = self.text
        if text.contains(marker) { return }
        if ended { throw NeverSaw(marker: marker, reason: "kiln ended", output: text) }
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

    func interrupt() { process.signal(SIGINT) }

    /// Writes to kiln's standard input (with `keepStdinOpen`).
    func send(_ text: String) { process.write(Array(text.utf8)) }

    /// Waits for the exit status (128 + the signal if one ended kiln) and the rest of the
    /// output, for at most `timeout` seconds (then kills kiln and throws with its output).
    func finish(timeout: Double = 120) async throws -> Int32 {
      let deadline = ContinuousClock.now + .seconds(timeout)
      while !process.hasEnded {
        if ContinuousClock.now >= deadline {
          process.signal(SIGKILL)
          throw NeverSaw(marker: "the exit", reason: "still running after \(Int(timeout)) s", output: text)
        }
        try await Task.sleep(for: .milliseconds(20))
      }
      return try await process.termination().shellStatus
    }

    /// Everything kiln wrote so far.
    final class Received: Sendable {
      private let bytes = Mutex<[UInt8]>([])
      func append(_ more: [UInt8]) { bytes.withLock { $0 += more } }
      var text: String { bytes.withLock { String(decoding: $0, as: UTF8.self) } }
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
