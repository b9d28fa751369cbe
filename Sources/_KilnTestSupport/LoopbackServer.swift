public import Foundation
import KilnCore
import Synchronization

/// A helper process serving on 127.0.0.1 for the tests (moto, the fault proxy, ...), started
/// with `ChildProcess.start`.
///
/// The process writes a JSON "ready file" once it listens (with at least its `port`); the
/// launcher waits for it, bounded. Its standard input is its lifeline: it shuts down when
/// that closes, on `stop()`, when the value is deinitialised, or when the test process ends
/// (the write end is this process's alone: the runner opens it close-on-exec and closes
/// every other descriptor in the children it starts).
public final class LoopbackServer: Sendable {
  public let port: Int
  /// Everything the ready file held.
  nonisolated(unsafe) public let info: [String: Any]
  public let directory: URL
  private let process: ChildProcess.Running

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
    var env = ProcessInfo.processInfo.environment
    // Never let a helper reach a real AWS endpoint or the metadata service.
    for key in env.keys where key.hasPrefix("AWS_") || key.lowercased().hasSuffix("_proxy") { env[key] = nil }
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    env.merge(environment) { $1 }
    // The end of its output (standard output and error), for the error if it never starts.
    let output = OutputTail()
    process = try await ChildProcess.start(
      "/usr/bin/env", arguments: ["python3", script.path, ready.path] + arguments, environment: env, keepInputOpen: true
    ) { _, bytes in output.append(bytes) }
    let deadline = ContinuousClock.now + .seconds(timeout)
    var parsed: [String: Any]?
    while parsed == nil, ContinuousClock.now < deadline, !process.hasEnded {
      if let data = FileManager.default.contents(atPath: ready.path) {
        parsed = try JSONSerialization.jsonObject(with: data) as? [String: Any]
      } else {
        try await Task.sleep(for: .milliseconds(50))
      }
    }
    guard let parsed, let port = parsed["port"] as? Int else {
      process.signal(SIGKILL)
      _ = try? await process.termination()
      throw ServerDidNotStart(script: script.lastPathComponent, output: output.text)
    }
    self.info = parsed
    self.port = port
  }

  static let concurrentStarts = 2
  private static let starts = Turns(concurrentStarts)

  /// Closes the helper's lifeline so it shuts down what it started (sshd), waits for it
  /// (2 s at most, then SIGKILL): its port is free again when this returns.
  public func stop() async { await Self.stop(process) }

  /// The same, after the value is gone: the task holds the helper until it has stopped.
  deinit { Task { [process] in await Self.stop(process) } }

  private static func stop(_ process: ChildProcess.Running) async {
    process.closeInput()
    for _ in 0..<100 where !process.hasEnded { try? await Task.sleep(for: .milliseconds(20)) }
    if !process.hasEnded { process.signal(SIGKILL) }
    _ = try? await process.termination()
  }

  public struct ServerDidNotStart: Error, CustomStringConvertible {
    public var script: String
    public var output: String
    public var description: String { "\(script) did not start within the time allowed:\n\(output)" }
  }
}

/// The last 256 KiB of a helper's output.
final class OutputTail: Sendable {
  private let bytes = Mutex<[UInt8]>([])
  static let limit = 256 * 1024

  func append(_ more: [UInt8]) {
    bytes.withLock { bytes in
      bytes += more
      if bytes.count > 2 * Self.limit { bytes.removeFirst(bytes.count - Self.limit) }
    }
  }

  var text: String { bytes.withLock { String(decoding: $0, as: UTF8.self) } }
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
