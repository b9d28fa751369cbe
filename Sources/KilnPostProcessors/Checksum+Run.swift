import Foundation
public import KilnCore
import KilnCrypto

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

  /// The hex digest of a file, read in 1 MiB pieces into one reused buffer (constant memory
  /// whatever the file's size). An OpenSSL failure throws `OpenSSLError` with its own words.
  public static func digest(_ type: String, of path: String) throws -> String {
    guard let algorithm = DigestAlgorithm(named: type) else {
      throw BuildError("checksum: OpenSSL has no \(type) digest")
    }
    var digest = try MessageDigest(algorithm)
    let descriptor = open(path, O_RDONLY)
    guard descriptor >= 0 else { throw BuildError("checksum: cannot read \(path)") }
    defer { close(descriptor) }
    var buffer = [UInt8](repeating: 0, count: 1 << 20)
    while true {
      let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
      if count < 0, errno == EINTR { continue }
      guard count >= 0 else { throw BuildError("checksum: reading \(path) failed: \(String(cString: strerror(errno)))") }
      if count == 0 { break }
      try digest.update(buffer[..<count])
    }
    return Digest.hex(try digest.finalize())
  }
}
