public import Foundation

/// A helper process serving on 127.0.0.1 for the tests (moto, the fault proxy, ...).
///
/// The process writes a JSON "ready file" once it listens (with at least its `port`); the
/// launcher waits for it, bounded. The process is killed with SIGKILL when `stop()` is
/// called or the value is deinitialised (a child started from a test thread may have SIGTERM
/// blocked).
public final class LoopbackServer: @unchecked Sendable {
  public let port: Int
  /// Everything the ready file held.
  public let info: [String: Any]
  public let directory: URL
  private let process: Process
  /// The helper's standard input: it exits when this closes, i.e. when the test process ends.
  private let lifeline = Pipe()

  public var baseURL: URL { URL(string: "http://127.0.0.1:\(port)")! }

  /// Starts `python3 SCRIPT READY_FILE ARGS...` and waits for the ready file (sleeping
  /// between looks, so no thread of the cooperative pool is held while it starts).
  ///
  /// At most `concurrentStarts` helpers start at once, and `timeout` counts from this one's
  /// turn: tests that no longer block the pool all start at once, and twenty moto imports
  /// together on a loaded 2-core machine took longer than any one start is allowed.
  public init(python script: URL, arguments: [String] = [], environment: [String: String] = [:], timeout: Double = 30) async throws {
    await Self.starts.acquire()
    defer { Task { await Self.starts.release() } }
    directory = try Scratch.directory("kiln-server")
    let ready = directory.appendingPathComponent("ready.json")
    let log = directory.appendingPathComponent("server.log")
    _ = FileManager.default.createFile(atPath: log.path, contents: nil)
    process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", script.path, ready.path] + arguments
    var env = ProcessInfo.processInfo.environment
    // Never let a helper reach a real AWS endpoint or the metadata service.
    for key in env.keys where key.hasPrefix("AWS_") || key.lowercased().hasSuffix("_proxy") { env[key] = nil }
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    env.merge(environment) { $1 }
    process.environment = env
    let handle = try FileHandle(forWritingTo: log)
    process.standardOutput = handle
    process.standardError = handle
    process.standardInput = lifeline
    // Only this process may hold the write end: a child that inherited it would keep every
    // helper alive after the tests end.
    _ = fcntl(lifeline.fileHandleForWriting.fileDescriptor, F_SETFD, FD_CLOEXEC)
    try process.run()
    let deadline = ContinuousClock.now + .seconds(timeout)
    var parsed: [String: Any]?
    while parsed == nil, ContinuousClock.now < deadline, process.isRunning {
      if let data = FileManager.default.contents(atPath: ready.path) {
        parsed = try JSONSerialization.jsonObject(with: data) as? [String: Any]
      } else {
        try await Task.sleep(for: .milliseconds(50))
      }
    }
    guard let parsed, let port = parsed["port"] as? Int else {
      kill(process.processIdentifier, SIGKILL)
      let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
      throw ServerDidNotStart(script: script.lastPathComponent, output: output)
    }
    self.info = parsed
    self.port = port
  }

  static let concurrentStarts = 2
  private static let starts = Turns(concurrentStarts)

  /// Closes the helper's lifeline so it shuts down what it started (sshd), then makes sure.
  public func stop() {
    guard process.isRunning else { return }
    try? lifeline.fileHandleForWriting.close()
    for _ in 0..<100 where process.isRunning { usleep(20_000) }
    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    process.waitUntilExit()
  }

  deinit { stop() }

  public struct ServerDidNotStart: Error, CustomStringConvertible {
    public var script: String
    public var output: String
    public var description: String { "\(script) did not start within the time allowed:\n\(output)" }
  }
}

/// Paths of the repository and of `../shared` beside it.
public enum TestPaths {
  public static let repository = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
  public static let shared = repository.deletingLastPathComponent().appendingPathComponent("shared")
  public static func fixture(_ name: String) -> URL {
    repository.appendingPathComponent("Tests/Fixtures/\(name)")
  }
}
