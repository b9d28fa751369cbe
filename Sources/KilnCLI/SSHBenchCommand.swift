import ArgumentParser
import Foundation
import KilnCore
import KilnSSH

/// `kiln _ssh-bench`: drives the SSH communicator for `bench/ssh.sh` (not for users, so not
/// listed in help). Prints JSON timings.
struct SSHBenchCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "_ssh-bench", abstract: "Time the SSH communicator (used by bench/ssh.sh).", shouldDisplay: false)

  @Option var host = "127.0.0.1"
  @Option var port: Int
  @Option var user: String
  @Option(name: .customLong("key")) var keyFile: String
  @Option var upload: String?
  @Option var remote = "/tmp/kiln-bench-upload"
  @Option var commands = 0

  func run() async throws {
    let clock = ContinuousClock()
    let config = SSHConnectionConfig(host: host, port: port, username: user, authentication: [.privateKeyFile(path: keyFile)])
    var connectTime = Duration.zero
    let session = try await { () async throws -> SSHSession in
      let start = clock.now
      defer { connectTime = clock.now - start }
      return try await SSHSession.connect(config)
    }()
    var result: [String: Double] = ["connect_seconds": connectTime.inSeconds]
    if let upload {
      let start = clock.now
      try await session.upload(upload, to: remote, progress: nil)
      result["upload_seconds"] = (clock.now - start).inSeconds
    }
    if commands > 0 {
      let start = clock.now
      for _ in 0..<commands {
        guard try await session.run("true", output: { _ in }) == .exited(0) else { throw ExitCode.failure }
      }
      result["commands_seconds"] = (clock.now - start).inSeconds
    }
    let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
  }
}
