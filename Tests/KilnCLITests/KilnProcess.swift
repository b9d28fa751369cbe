import Foundation
import Testing

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

  /// Runs `kiln ARGS` in `directory` with exactly `environment`.
  static func run(
    _ arguments: [String], in directory: URL? = nil, environment: [String: String]? = nil, input: String? = nil
  ) throws -> Result {
    let process = Process()
    process.executableURL = try executable
    process.arguments = arguments
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
    return Result(
      status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
      stderr: String(decoding: errData, as: UTF8.self))
  }

  /// A `kiln` process the test talks to while it runs (to interrupt it at a chosen moment).
  final class Running {
    let process = Process()
    private let output = Pipe()
    private(set) var text = ""

    init(_ arguments: [String], in directory: URL, environment: [String: String]? = nil) throws {
      process.executableURL = try KilnProcess.executable
      process.arguments = arguments
      process.currentDirectoryURL = directory
      process.environment = environment ?? KilnProcess.isolatedEnvironment()
      process.standardOutput = output
      process.standardError = output
      try process.run()
    }

    /// Reads output until it contains `marker` (or the process closes its output).
    func waitFor(_ marker: String) {
      while !text.contains(marker) {
        let data = output.fileHandleForReading.availableData
        if data.isEmpty { return }
        text += String(decoding: data, as: UTF8.self)
      }
    }

    func interrupt() { kill(process.processIdentifier, SIGINT) }

    /// Reads the rest of the output and waits for the exit status.
    func finish() -> Int32 {
      text += String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      process.waitUntilExit()
      return process.terminationStatus
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
