public import Foundation

/// Runs a command to completion for a test and returns its exit status and output, waiting
/// off the cooperative pool.
public enum TestCommand {
  /// - Parameters:
  ///   - arguments: the program (looked up on PATH) and its arguments.
  ///   - environment: the whole environment; the test process's when nil.
  ///   - includeStderr: merge standard error into the output (else it is discarded).
  ///   - timeout: seconds before the command is killed and the call throws `TimedOut`.
  public static func run(
    _ arguments: [String], environment: [String: String]? = nil, directory: URL? = nil, includeStderr: Bool = true,
    timeout: Double = 300
  ) async throws -> (status: Int32, output: String) {
    try await Turns.processes.withTurn {
      try await offThePool {
        try runBlocking(arguments, environment: environment, directory: directory, includeStderr: includeStderr, timeout: timeout)
      }
    }
  }

  public struct TimedOut: Error, CustomStringConvertible {
    public var arguments: [String]
    public var seconds: Double
    public var output: String
    public var description: String { "\(arguments.joined(separator: " ")) did not finish within \(Int(seconds)) s; its output:\n\(output)" }
  }

  private static func runBlocking(
    _ arguments: [String], environment: [String: String]?, directory: URL?, includeStderr: Bool, timeout: Double
  ) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    if let environment { process.environment = environment }
    if let directory { process.currentDirectoryURL = directory }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = includeStderr ? pipe : FileHandle.nullDevice
    try process.run()
    let watchdog = Watchdog(process, after: timeout)
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let output = String(decoding: data, as: UTF8.self)
    if watchdog.fired() { throw TimedOut(arguments: arguments, seconds: timeout, output: output) }
    return (process.terminationStatus, output)
  }
}
