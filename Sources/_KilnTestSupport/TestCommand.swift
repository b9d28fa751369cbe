public import Foundation
import KilnCore

/// Runs a command to completion for a test and returns its exit status and output
/// (`ChildProcess.capture`, which waits without holding a thread of the cooperative pool).
public enum TestCommand {
  /// - Parameters:
  ///   - arguments: the program (looked up on PATH) and its arguments.
  ///   - environment: the whole environment; the test process's when nil.
  ///   - includeStderr: merge standard error into the output (else it is discarded).
  ///   - timeout: seconds before the command is killed and the call throws `TimedOut`.
  /// - Returns: the exit status (128 + the signal for a killed command, as a shell says).
  public static func run(
    _ arguments: [String], environment: [String: String]? = nil, directory: URL? = nil, includeStderr: Bool = true,
    timeout: Double = 300
  ) async throws -> (status: Int32, output: String) {
    try await Turns.processes.withTurn {
      let captured = try await ChildProcess.capture(
        "/usr/bin/env", arguments: arguments, environment: environment, directory: directory?.path,
        mergeErrors: includeStderr, errorLimit: 0, timeout: .seconds(timeout))
      switch captured.stopped {
      case .timedOut: throw TimedOut(arguments: arguments, seconds: timeout, output: captured.outputText)
      case .outputLimit: throw TooMuchOutput(arguments: arguments)
      case nil: return (captured.termination.shellStatus, captured.outputText)
      }
    }
  }

  public struct TimedOut: Error, CustomStringConvertible {
    public var arguments: [String]
    public var seconds: Double
    public var output: String
    public var description: String { "\(arguments.joined(separator: " ")) did not finish within \(Int(seconds)) s; its output:\n\(output)" }
  }

  public struct TooMuchOutput: Error, CustomStringConvertible {
    public var arguments: [String]
    public var description: String { "\(arguments.joined(separator: " ")) wrote more output than a test keeps; it was killed" }
  }
}
