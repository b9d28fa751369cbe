public import Foundation

/// Runs a command to completion for a test and returns its exit status and output, waiting
/// off the cooperative pool.
public enum TestCommand {
  /// - Parameters:
  ///   - arguments: the program (looked up on PATH) and its arguments.
  ///   - environment: the whole environment; the test process's when nil.
  ///   - includeStderr: merge standard error into the output (else it is discarded).
  public static func run(
    _ arguments: [String], environment: [String: String]? = nil, directory: URL? = nil, includeStderr: Bool = true
  ) async throws -> (status: Int32, output: String) {
    try await Turns.processes.withTurn {
      try await offThePool { try runBlocking(arguments, environment: environment, directory: directory, includeStderr: includeStderr) }
    }
  }

  private static func runBlocking(
    _ arguments: [String], environment: [String: String]?, directory: URL?, includeStderr: Bool
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
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
  }
}
