import Foundation
import KilnCLI
import KilnCore
import Testing
import _KilnTestSupport

/// Hostile input: every corruption of a real template gives diagnostics, never a crash.
@Suite struct RobustnessTests {
  static let seedTemplate = SharedFixtures.repository.appendingPathComponent("Templates/eks-node.json")

  /// Deterministic generator, so a failure can be replayed.
  struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
  }

  @Test func corruptedTemplatesNeverCrashTheLoaderOrTheValidator() throws {
    let original = Array(try Data(contentsOf: Self.seedTemplate))
    var random = SplitMix(state: 2026)
    let interesting: [UInt8] = Array("{}[]\",:`\\ {{}}|()-.0e9nt".utf8) + [0x00, 0x0A, 0xC3, 0xFF, 0xE2, 0x80]
    let directory = try Scratch.directory("kiln-fuzz")
    var rejected = 0
    for round in 0..<300 {
      var bytes = original
      switch round % 3 {
      case 0: // truncate
        bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &random)))
      case 1: // overwrite a few bytes
        for _ in 0..<Int.random(in: 1...4, using: &random) {
          bytes[Int.random(in: 0..<bytes.count, using: &random)] = interesting.randomElement(using: &random)!
        }
      default: // insert a few bytes
        for _ in 0..<Int.random(in: 1...4, using: &random) {
          bytes.insert(interesting.randomElement(using: &random)!, at: Int.random(in: 0...bytes.count, using: &random))
        }
      }
      let loaded = TemplateLoader.load(SourceFile(path: "fuzz.json", bytes: bytes))
      if loaded.diagnostics.hasErrors { rejected += 1 }
      let path = directory.appendingPathComponent("t.json").path
      _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
      var options = ValidationOptions()
      options.variableFiles = [SharedFixtures.repository.appendingPathComponent("Templates/kubernetes/1.31.json").path]
      options.workingDirectory = SharedFixtures.repository.path
      let validation = TemplateValidator.validate(path: path, options: options, registry: .kiln)
      // Whatever happened, every error that is reported has a message.
      #expect(validation.diagnostics.errors.allSatisfy { !$0.message.isEmpty })
    }
    #expect(rejected > 100, "most corruptions must be rejected (\(rejected) of 300)")
  }

  @Test(arguments: [
    (#""volume_size": 123456789012345678901234567890"#, "'volume_size' must be an integer"),
    (#""volume_size": 1e400"#, "'volume_size' must be an integer"),
    (#""volume_size": -5"#, "'volume_size' must be between 1 and 65536"),
    (#""volume_size": {"a": 1}"#, "'volume_size' must be an integer, not an object"),
    (#""delete_on_termination": "maybe""#, "'delete_on_termination' must be a boolean"),
    (#""delete_on_termination": [true]"#, "'delete_on_termination' must be a boolean, not a list"),
  ])
  func wrongTypesAndHugeNumbersAreClearErrors(member: String, expected: String) throws {
    let directory = try Scratch.directory("kiln-types")
    let path = directory.appendingPathComponent("t.json").path
    try #"""
    {"builders": [{"type": "amazon-ebs", "region": "us-east-1", "source_ami": "ami-1", "instance_type": "t3.micro",
      "ssh_username": "u", "ami_name": "name-1",
      "launch_block_device_mappings": [{"device_name": "/dev/xvda", \#(member)}]}]}
    """#.write(toFile: path, atomically: true, encoding: .utf8)
    let validation = TemplateValidator.validate(path: path, options: ValidationOptions(), registry: .kiln)
    let messages = validation.diagnostics.errors.map(\.message)
    #expect(messages.contains { $0.contains(expected) }, "\(messages)")
    #expect(validation.diagnostics.errors.allSatisfy { $0.location?.line == 3 })
  }
}
