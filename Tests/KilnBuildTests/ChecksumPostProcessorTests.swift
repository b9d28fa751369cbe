import Foundation
import KilnBuild
import KilnBuilders
import KilnCore
import KilnPostProcessors
import Synchronization
import Testing
import _KilnTestSupport

/// The checksum post-processor on an artifact with files, checked against coreutils'
/// `sha256sum`/`md5sum` (Kiln's builders make no files, so this needs a builder of its own).
@Suite struct ChecksumPostProcessorTests {
  /// A builder whose artifact is two files it writes into the working directory.
  struct FilesBuilder: RunnableBuilder {
    static let typeName = "test-files"
    init(from reader: inout ConfigReader) {}
    var hasCommunicator: Bool { false }

    func run(_ context: BuildContext, hooks: ProvisionHooks) async throws -> (any Artifact)? {
      let directory = URL(fileURLWithPath: context.workingDirectory)
      var files: [String] = []
      for (name, text) in [("disk.img", String(repeating: "kiln\n", count: 1000)), ("notes.txt", "hello\n")] {
        let url = directory.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        files.append(url.path)
      }
      return BasicArtifact(builderID: "test.files", id: "files", files: files, summary: "two files")
    }
  }

  static let registry: PluginRegistry = {
    var registry = PluginRegistry()
    registry.registerBuilders()
    registry.registerPostProcessors()
    registry.register(builder: FilesBuilder.self)
    return registry
  }()

  @Test func writesPackersFormatPerTypeAndSharesAFileNamedOnce() async throws {
    let work = try Scratch.directory("kiln-checksum")
    let path = work.appendingPathComponent("template.json").path
    try """
    {"builders": [{"type": "test-files", "name": "f"}],
     "post-processors": [
       {"type": "checksum", "checksum_types": ["sha256", "md5"], "output": "{{.BuildName}}.{{.ChecksumType}}"},
       {"type": "checksum", "checksum_types": ["sha256", "md5"], "output": "all.sums"}]}
    """.write(toFile: path, atomically: true, encoding: .utf8)
    // A stale file from an earlier run is replaced, not appended to.
    try "stale\n".write(to: work.appendingPathComponent("all.sums"), atomically: true, encoding: .utf8)
    var validationOptions = ValidationOptions()
    validationOptions.workingDirectory = work.path
    let validation = TemplateValidator.validate(path: path, options: validationOptions, registry: Self.registry)
    #expect(!validation.diagnostics.hasErrors, "\(validation.diagnostics.sorted)")
    var uiOptions = ConsoleUI.Options()
    uiOptions.color = false
    let console = ConsoleUI(options: uiOptions, masker: SecretMasker(), write: { _ in })
    var options = BuildSession.Options(templatePath: path)
    options.watchesSignals = false
    let result = await BuildSession(validation: validation, validationOptions: validationOptions, options: options, console: console).run()
    guard case .ran(let report) = result, let artifacts = report.artifacts.first?.artifacts else {
      Issue.record("the build did not run: \(result)")
      return
    }

    func coreutils(_ tool: String) async throws -> String {
      let (status, output) = try await TestCommand.run([tool, "disk.img", "notes.txt"], directory: work)
      #expect(status == 0)
      // "<hex>  <name>" → Packer's "<hex>\t<name>".
      return output.split(separator: "\n").map { $0.replacingOccurrences(of: "  ", with: "\t") + "\n" }.joined()
    }
    let sha256 = try await coreutils("sha256sum")
    let md5 = try await coreutils("md5sum")
    #expect(try String(contentsOf: work.appendingPathComponent("f.sha256"), encoding: .utf8) == sha256)
    #expect(try String(contentsOf: work.appendingPathComponent("f.md5"), encoding: .utf8) == md5)
    #expect(try String(contentsOf: work.appendingPathComponent("all.sums"), encoding: .utf8) == sha256 + md5)

    // Packer's artifacts: the builder's first (kept), then each chain's result: the input's
    // files and the checksum files, by their names as rendered.
    #expect(artifacts.map(\.builderID) == ["test.files", "packer.post-processor.checksum", "packer.post-processor.checksum"])
    let inputs = [work.appendingPathComponent("disk.img").path, work.appendingPathComponent("notes.txt").path]
    #expect(artifacts[1].files == inputs + ["f.sha256", "f.md5"])
    #expect(artifacts[2].files == inputs + ["all.sums"])
    #expect(artifacts[2].id == "")
    #expect(artifacts[2].summary == "Created artifact from files: " + (inputs + ["all.sums"]).joined(separator: ", "))
  }
}
