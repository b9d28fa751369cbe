import Foundation
import Testing

/// `../shared/conformance/`: public templates with Packer 1.6.6's own `validate` verdicts.
/// Kiln must agree on `-syntax-only` for every file, and on full validation wherever it
/// implements every plugin type the template names; every rejection must carry positions.
@Suite struct ConformanceTests {
  static let directory = SharedFixtures.root.appendingPathComponent("conformance")
  /// Kiln's plugin types, by kind ("file" is a provisioner here, but Packer also has a
  /// `file` builder, which Kiln does not).
  static let supported: Set<String> = [
    "builder:amazon-ebs", "builder:null", "provisioner:shell", "provisioner:file",
    "provisioner:shell-local", "provisioner:breakpoint", "post-processor:manifest",
    "post-processor:checksum", "post-processor:shell-local",
  ]

  static var templates: [String] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("templates").path)) ?? []
    return names.filter { $0.hasSuffix(".json") }.sorted()
  }

  static func packerVerdict(_ name: String, _ mode: String) throws -> Int32 {
    let url = directory.appendingPathComponent("packer-1.6.6/\(name).\(mode).rc")
    let text = try String(contentsOf: url, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    return try #require(Int32(text))
  }

  /// Every `"type"` the template names for a builder, provisioner or post-processor.
  static func pluginTypes(_ name: String) throws -> Set<String>? {
    let data = try Data(contentsOf: directory.appendingPathComponent("templates/\(name)"))
    guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
    var types = Set<String>()
    for builder in root["builders"] as? [[String: Any]] ?? [] { types.insert("builder:" + (builder["type"] as? String ?? "")) }
    for provisioner in root["provisioners"] as? [[String: Any]] ?? [] { types.insert("provisioner:" + (provisioner["type"] as? String ?? "")) }
    for item in root["post-processors"] as? [Any] ?? [] {
      for element in (item as? [Any]) ?? [item] {
        if let type = element as? String { types.insert("post-processor:" + type) }
        if let object = element as? [String: Any] { types.insert("post-processor:" + (object["type"] as? String ?? "")) }
      }
    }
    return types
  }

  @Test func corpusIsPresent() {
    #expect(Self.templates.count >= 50, "expected the shared corpus at \(Self.directory.path)")
  }

  @Test(arguments: templates)
  func syntaxOnlyVerdictMatchesPacker(name: String) async throws {
    let path = Self.directory.appendingPathComponent("templates/\(name)").path
    let result = try await KilnProcess.run(["validate", "-syntax-only", path], in: FileManager.default.temporaryDirectory)
    let expected = try Self.packerVerdict(name, "syntax")
    #expect(result.status == expected, "\(name): kiln \(result.status), packer \(expected)\n\(result.stderr)")
    if result.status != 0 { try expectPositions(result.stderr, name) }
  }

  @Test(arguments: templates)
  func fullVerdictMatchesPackerWhereEveryPluginIsImplemented(name: String) async throws {
    let path = Self.directory.appendingPathComponent("templates/\(name)").path
    let result = try await KilnProcess.run(["validate", path], in: FileManager.default.temporaryDirectory)
    let packer = try Self.packerVerdict(name, "full")
    let types = try Self.pluginTypes(name)
    if let types, types.isSubset(of: Self.supported) {
      #expect(result.status == packer, "\(name): kiln \(result.status), packer \(packer)\n\(result.stderr)")
    } else if let types, try Self.packerVerdict(name, "syntax") == 0 {
      // A type Kiln lacks is one clear problem naming the type and its position.
      #expect(result.status == 1)
      for kindAndType in types.subtracting(Self.supported) {
        let parts = kindAndType.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[1].isEmpty else { continue }
        #expect(result.stderr.contains("\(parts[0]) type \"\(parts[1])\" is not supported by kiln"), "\(name): \(kindAndType)\n\(result.stderr)")
      }
    }
    if result.status != 0 { try expectPositions(result.stderr, name) }
  }

  /// Every error line of a rejected template names the file, line and column.
  func expectPositions(_ stderr: String, _ name: String) throws {
    let errorLines = stderr.split(separator: "\n").filter { $0.contains(": error: ") }
    #expect(!errorLines.isEmpty, "\(name): no error line\n\(stderr)")
    let positioned = try Regex(#"^/.+\.json:\d+:\d+: error: "#)
    for line in errorLines {
      #expect(line.contains(positioned), "\(name): error without a position: \(line)")
    }
  }
}
