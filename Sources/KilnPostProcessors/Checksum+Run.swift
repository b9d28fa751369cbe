import Foundation
public import KilnCore
import KilnCrypto

extension ChecksumPostProcessor: RunnablePostProcessor {
  /// Writes, for each checksum type, a line `<hex digest>\t<file name>` per artifact file
  /// (Packer's format) to the rendered `output`, streaming each file through OpenSSL. Types
  /// whose `output` is the same path share the file, in order, as Packer's appends make them
  /// share it; unlike Packer, a file is written afresh by each run rather than appended to,
  /// so a rebuild does not accumulate stale sums. An artifact without files writes nothing.
  ///
  /// The result is Packer's checksum artifact: the input's files and the checksum files, no
  /// id, "Created artifact from files: …". Keeps its input.
  public func postProcess(_ context: BuildContext, artifact: any Artifact, buildValues: [String: String]) async throws -> (
    artifact: any Artifact, keepInput: Bool
  ) {
    // Each checksum file by its path as rendered (relative to the working directory when the
    // template says so, as Packer lists it).
    var contents: [(path: String, text: String)] = []
    for type in checksumTypes {
      let fields: [String: TemplateValue] = [
        "BuildName": .string(context.packerBuildName), "BuilderType": .string(context.buildType), "ChecksumType": .string(type),
      ]
      for file in artifact.files {
        let path = try context.render(output, phase: .postProcessor, buildValues: buildValues, fields: fields)
        let line = try Self.digest(type, of: file) + "\t" + (file as NSString).lastPathComponent + "\n"
        if let index = contents.firstIndex(where: { $0.path == path }) {
          contents[index].text += line
        } else {
          contents.append((path, line))
        }
      }
    }
    for (path, text) in contents {
      let url = URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: context.workingDirectory, isDirectory: true))
      try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
      try text.write(to: url, atomically: true, encoding: .utf8)
    }
    let files = artifact.files + contents.map(\.path)
    let result = BasicArtifact(
      builderID: "packer.post-processor.checksum", id: "", files: files, summary: "Created artifact from files: \(files.joined(separator: ", "))")
    return (result, true)
  }

  /// As Packer's checksum post-processor: the input is kept whatever the template says.
  public var forcesKeepingInput: Bool { true }

  /// The hex digest of a file, streamed (constant memory whatever its size). An OpenSSL
  /// failure throws `OpenSSLError` with its own words.
  public static func digest(_ type: String, of path: String) throws -> String {
    guard let algorithm = DigestAlgorithm(named: type) else {
      throw BuildError("checksum: OpenSSL has no \(type) digest")
    }
    var digest = try MessageDigest(algorithm)
    do {
      try digest.update(contentsOfFile: path)
    } catch let error as FileReadError {
      throw BuildError("checksum: \(error)")
    }
    return Digest.hex(try digest.finalize())
  }
}
