import ArgumentParser
import Foundation
import KilnCore
import KilnSSH

/// `kiln _output-bench`: runs one remote command and relays its output to standard output
/// the way a shell provisioner does in a build (`Communicator.run(_:into:)` into the build's
/// `outputSink`, with the build's prefix and secret masking), for `bench/output.sh` (not for
/// users, so not listed in help). Prints its JSON timings on standard error.
struct OutputBenchCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "_output-bench", abstract: "Relay a remote command's output as a build does (used by bench/output.sh).",
    shouldDisplay: false)

  @Option var host = "127.0.0.1"
  @Option var port: Int
  @Option var user: String
  @Option(name: .customLong("key")) var keyFile: String
  @Option(help: "The build name that prefixes each line.") var build = "bench"
  @Option(help: "A value to mask, as a sensitive variable's (repeatable).") var secret: [String] = []
  @Argument(help: "The remote command.") var command: String

  func run() async throws {
    let clock = ContinuousClock()
    let start = clock.now
    let config = SSHConnectionConfig(host: host, port: port, username: user, authentication: [.privateKeyFile(path: keyFile)])
    let communicator = ReconnectingCommunicator(connector: SSHConnector(config: config), first: try await SSHSession.connect(config))
    let connected = clock.now
    var options = ConsoleUI.Options()
    options.color = false
    let console = ConsoleUI(options: options, masker: SecretMasker(secret))
    let ui = console.forBuild(build)
    let result = try await communicator.run(command, into: ui.outputSink())
    let relayed = clock.now
    await communicator.close()
    let timings: [String: Any] = [
      "connect_seconds": (connected - start).inSeconds, "relay_seconds": (relayed - connected).inSeconds,
      "result": String(describing: result),
    ]
    let data = try JSONSerialization.data(withJSONObject: timings, options: [.sortedKeys])
    FileHandle.standardError.write(data + Data("\n".utf8))
    guard result == .exited(0) else { throw ExitCode.failure }
  }
}
