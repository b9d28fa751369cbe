import Foundation
import KilnCore

/// Runs a profile's `credential_process` command (the AWS CLI's JSON protocol, Version 1)
/// without letting it hang or flood Kiln, through `ChildProcess.capture`:
///
/// - standard output and standard error are read together, so a command that writes a lot
///   to standard error cannot block on a full pipe while Kiln waits for its standard output;
/// - standard output may hold at most `outputLimit` bytes (64 KiB; a credentials document is
///   well under 2 KiB, and the AWS SDK for Java stops at 64,000 bytes): past that the command
///   is killed and the error says so;
/// - of standard error only the last `errorLimit` bytes (4 KiB) are kept, for the message
///   when the command fails; the rest is read and dropped;
/// - the command must finish within `timeout` (1 minute by default, the AWS SDK for Go's
///   `processcreds.DefaultTimeout`), else it is killed with its whole process group (it runs
///   as `/bin/sh -c` in a group of its own, so what the shell started goes too);
/// - cancelling the task kills it the same way.
///
/// A command that ends by itself keeps what it left running (an agent it started, as with
/// the AWS CLI); only a command that is stopped loses its whole group.
struct CredentialProcess {
  var command: String
  var profile: String
  var timeout: Duration = .seconds(60)
  var outputLimit = 64 * 1024
  var errorLimit = 4 * 1024

  /// What the command left: its standard output, the tail of its standard error, and how it ended.
  struct Finished {
    var output: [UInt8]
    var errorTail: String
    var exitStatus: Int32?
    var signal: Int32?
  }

  func run() async throws -> Finished {
    let captured: ChildProcess.Captured
    do {
      captured = try await ChildProcess.capture(
        "/bin/sh", arguments: ["-c", command], outputLimit: outputLimit, errorLimit: errorLimit, timeout: timeout,
        ownProcessGroup: true)
    } catch let error as ChildProcess.SpawnFailed {
      throw failure("could not start /bin/sh: \(error.reason)")
    }
    let errorTail = (captured.errorCut ? "…" : "") + captured.errorText
    switch captured.stopped {
    case .timedOut:
      throw failure("did not finish within \(Int(timeout.inSeconds.rounded(.up)))s and was killed", errorTail)
    case .outputLimit:
      throw failure("wrote more than \(outputLimit / 1024) KiB to standard output, which is not a credentials document; it was killed", errorTail)
    case nil:
      break
    }
    switch captured.termination {
    case .exited(let code):
      return Finished(output: captured.output, errorTail: errorTail, exitStatus: code, signal: nil)
    case .signaled(let signal):
      return Finished(output: captured.output, errorTail: errorTail, exitStatus: nil, signal: signal)
    }
  }

  private var what: String { "credential_process of profile '\(profile)'" }

  private func failure(_ text: String, _ errorTail: String = "") -> AWSConfigurationError {
    let tail = errorTail.trimmingCharacters(in: .whitespacesAndNewlines)
    return AWSConfigurationError("\(what) \(text)" + (tail.isEmpty ? "" : ": \(tail)"))
  }

  /// Runs the command and reads its credentials.
  func credentials() async throws -> TemporaryCredentials {
    let finished = try await run()
    if let signal = finished.signal {
      throw failure("was ended by signal \(signal)", finished.errorTail)
    }
    guard finished.exitStatus == 0 else {
      throw failure("exited with \(finished.exitStatus ?? -1)", finished.errorTail)
    }
    let data = Data(finished.output)
    if let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let version = json["Version"] as? Int, version != 1 {
      throw AWSConfigurationError("\(what) returned Version \(version); only 1 is defined")
    }
    return try CredentialsChain.decodeJSONCredentials(finished.output, source: what)
  }
}
