internal import COpenSSL
import Foundation
public import KilnCore

extension ChecksumPostProcessor: RunnablePostProcessor {
  /// Writes one file per checksum type, a line `<hex digest>\t<file name>` per artifact file
  /// (Packer's format), streaming each file through OpenSSL. Keeps its input.
  public func postProcess(_ context: BuildContext, artifact: any Artifact, buildValues: [String: String]) async throws -> (artifact: any Artifact, keepInput: Bool) {
    var outputs: [String] = []
    for type in checksumTypes {
      let fields: [String: TemplateValue] = [
        "BuildName": .string(context.buildName), "BuilderType": .string(context.buildType), "ChecksumType": .string(type),
      ]
      let path = try context.render(output, phase: .postProcessor, buildValues: buildValues, fields: fields)
      let url = URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: context.workingDirectory, isDirectory: true))
      var text = ""
      for file in artifact.files {
        text += try Self.digest(type, of: file) + "\t" + (file as NSString).lastPathComponent + "\n"
      }
      try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
      try text.write(to: url, atomically: true, encoding: .utf8)
      context.ui.say("Wrote \(type) checksums of \(artifact.files.count) file(s) to \(path)")
      outputs.append(url.path)
    }
    let result = BasicArtifact(builderID: "packer.post-processor.checksum", id: outputs.joined(separator: ","), files: outputs, summary: "Created checksum files: \(outputs.joined(separator: ", "))")
    return (result, true)
  }

  /// The hex digest of a file, read in 1 MiB pieces.
  public static func digest(_ type: String, of path: String) throws -> String {
    guard let algorithm = EVP_get_digestbyname(type), let context = EVP_MD_CTX_new() else {
      throw BuildError("checksum: OpenSSL has no \(type) digest")
    }
    defer { EVP_MD_CTX_free(context) }
    guard EVP_DigestInit_ex(context, algorithm, nil) == 1 else { throw BuildError("checksum: \(type) init failed") }
    guard let handle = FileHandle(forReadingAtPath: path) else { throw BuildError("checksum: cannot read \(path)") }
    defer { try? handle.close() }
    while true {
      let chunk = handle.readData(ofLength: 1 << 20)
      if chunk.isEmpty { break }
      let ok = chunk.withUnsafeBytes { EVP_DigestUpdate(context, $0.baseAddress, $0.count) }
      guard ok == 1 else { throw BuildError("checksum: \(type) update failed") }
    }
    var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
    var length: UInt32 = 0
    guard EVP_DigestFinal_ex(context, &output, &length) == 1 else { throw BuildError("checksum: \(type) final failed") }
    return output.prefix(Int(length)).map { String(format: "%02x", $0) }.joined()
  }
}
