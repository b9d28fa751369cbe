import Foundation
public import KilnCore
import KilnProvisioners

extension ManifestPostProcessor: RunnablePostProcessor {
  /// Appends this build to the manifest (reference §5): entries of earlier runs stay;
  /// `last_run_uuid` is this run's; with `-force` and a different run, the file starts over.
  /// Always keeps its input artifact.
  public func postProcess(_ context: BuildContext, artifact: any Artifact, buildValues: [String: String]) async throws -> (
    artifact: any Artifact, keepInput: Bool
  ) {
    let path = try context.render(output, phase: .postProcessor, buildValues: buildValues)
    let url = URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: context.workingDirectory, isDirectory: true))
    var document: [String: Any] = ["builds": [Any]()]
    if let data = FileManager.default.contents(atPath: url.path), !data.isEmpty {
      guard let existing = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
        throw BuildError("the manifest \(url.path) exists but is not a manifest (JSON object); move it away or fix it")
      }
      document = existing
      if context.force, existing["last_run_uuid"] as? String != context.runUUID { document = ["builds": [Any]()] }
    }
    var entry: [String: Any] = [
      "name": context.packerBuildName, "builder_type": context.buildType, "artifact_id": artifact.id,
      "packer_run_uuid": context.runUUID,
    ]
    if !stripTime { entry["build_time"] = Int(Date().timeIntervalSince1970) }
    entry["files"] =
      artifact.files.isEmpty
      ? NSNull()
      : artifact.files.map { file -> [String: Any] in
        let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
        return ["name": stripPath ? (file as NSString).lastPathComponent : file, "size": size]
      }
    if customData.isEmpty {
      entry["custom_data"] = NSNull()
    } else {
      var data: [String: String] = [:]
      for (key, value) in customData {
        data[key] = context.masker.mask(try context.render(value, phase: .postProcessor, buildValues: buildValues))
      }
      entry["custom_data"] = data
    }
    var builds = document["builds"] as? [Any] ?? []
    builds.append(entry)
    document["builds"] = builds
    document["last_run_uuid"] = context.runUUID
    let json = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try json.write(to: url, options: .atomic)
    _ = chmod(url.path, 0o664)
    return (artifact, true)
  }

  /// Packer's manifest keeps its input whatever the template says.
  public var forcesKeepingInput: Bool { true }
}

extension ShellLocalPostProcessor: RunnablePostProcessor {
  public func postProcess(_ context: BuildContext, artifact: any Artifact, buildValues: [String: String]) async throws -> (
    artifact: any Artifact, keepInput: Bool
  ) {
    try await config.runAsPostProcessor(context, buildValues: buildValues)
    return (artifact, true)
  }

  /// As Packer's shell-local post-processor: the input is kept whatever the template says.
  public var forcesKeepingInput: Bool { true }
}
