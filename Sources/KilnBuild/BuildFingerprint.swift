import Foundation
public import KilnCore
import KilnCrypto

/// What determines a build's image, as one SHA-256 (hex): `kiln build -skip-unchanged`
/// compares it with the `kiln:fingerprint` tag of the AMIs earlier builds made (a builder adds
/// what only it knows, e.g. amazon-ebs the resolved source AMI id).
///
/// Into it go, each under its own label so no two inputs can run together: Kiln's version;
/// the builder's type and configuration, each provisioner's (with this build's `override`
/// merged) and each post-processor's, as written in the template, so `{{timestamp}}`,
/// `{{isotime}}` and `{{uuid}}` count as their text, not as this run's values; the values of
/// the template's variables after `-var`/`-var-file`/defaults (every variable, used or not,
/// so a change never goes unnoticed; sensitive ones as `<sensitive>`, so the tag cannot be
/// used to guess a secret: changing only a secret does not rebuild); and the content of every
/// file and directory a provisioner uploads or runs (`script`, `scripts`, `source`, `sources`,
/// paths rendered as the provisioner renders them, relative to the working directory).
public enum BuildFingerprint {
  public static func inputs(of build: PreparedBuild, variables: [String: String], sensitive: Set<String>, context: BuildContext) throws -> String {
    var digest = try MessageDigest(.sha256)
    try add(&digest, "kiln", KilnVersion.kiln)
    try add(&digest, "builder", build.definition.type.value)
    try add(&digest, "builder-config", canonical(build.definition.configuration))
    for name in variables.keys.sorted() {
      try add(&digest, "variable", name + "=" + (sensitive.contains(name) ? SecretMasker.placeholder : variables[name] ?? ""))
    }
    let provisioners = build.provisioners + (build.errorCleanupProvisioner.map { [$0] } ?? [])
    for provisioner in provisioners {
      let configuration = provisioner.definition.configuration(for: build.name)
      try add(&digest, "provisioner", provisioner.definition.type.value)
      try add(&digest, "provisioner-config", canonical(configuration))
      for path in files(in: configuration, context: context) {
        try add(&digest, "file", path)
        try hashFile(path, into: &digest)
      }
    }
    for chain in build.postProcessors {
      try add(&digest, "chain", String(chain.count))
      for postProcessor in chain {
        try add(&digest, "post-processor", postProcessor.definition.type.value)
        try add(&digest, "post-processor-config", canonical(postProcessor.definition.configuration))
      }
    }
    return Digest.hex(try digest.finalize())
  }

  /// One labelled input, its length first, so no two inputs can run together.
  private static func add(_ digest: inout MessageDigest, _ label: String, _ text: String) throws {
    let bytes = Array(text.utf8)
    try digest.update(Array("\(label) \(bytes.count)\n".utf8) + bytes + [10])
  }

  /// `node` as JSON text with object keys sorted: the same configuration always hashes the same.
  static func canonical(_ node: JSONNode) -> String {
    switch node.value {
    case .null: return "null"
    case .bool(let value): return value ? "true" : "false"
    case .number(let text): return text
    case .string(let text): return quoted(text)
    case .array(let items): return "[" + items.map(canonical).joined(separator: ",") + "]"
    case .object(let members):
      return "{" + members.sorted { $0.key < $1.key }.map { quoted($0.key) + ":" + canonical($0.value) }.joined(separator: ",") + "}"
    }
  }

  static func quoted(_ text: String) -> String {
    let data = (try? JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes])) ?? Data()
    return String(String(decoding: data, as: UTF8.self).dropFirst().dropLast())
  }

  /// The local files a provisioner configuration names, rendered and resolved, in order. A
  /// `file` provisioner that downloads (`direction: download`) uploads nothing.
  static func files(in configuration: JSONNode, context: BuildContext) -> [String] {
    guard case .object(let members) = configuration.value else { return [] }
    if members.contains(where: { $0.key == "direction" && $0.value.stringValue == "download" }) { return [] }
    var paths: [String] = []
    for member in members where ["script", "scripts", "source", "sources"].contains(member.key) {
      switch member.value.value {
      case .string(let text): paths.append(text)
      case .array(let items): paths += items.compactMap(\.stringValue)
      default: break
      }
    }
    let directory = URL(fileURLWithPath: context.workingDirectory, isDirectory: true)
    return paths.map { path in
      let rendered = (try? context.render(path, phase: .provisioner, buildValues: [:])) ?? path
      return URL(fileURLWithPath: rendered, relativeTo: directory).standardizedFileURL.path
    }
  }

  /// A file's bytes, or a directory's files (relative names and bytes, sorted); a missing
  /// path counts as missing, so creating it later changes the fingerprint.
  static func hashFile(_ path: String, into digest: inout MessageDigest) throws {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      try digest.update(Array("missing\n".utf8))
      return
    }
    if !isDirectory.boolValue {
      try stream(path, into: &digest)
      return
    }
    let names = (FileManager.default.subpaths(atPath: path) ?? []).sorted()
    for name in names {
      let full = (path as NSString).appendingPathComponent(name)
      var nested: ObjCBool = false
      guard FileManager.default.fileExists(atPath: full, isDirectory: &nested), !nested.boolValue else { continue }
      try digest.update(Array("entry \(name)\n".utf8))
      try stream(full, into: &digest)
    }
  }

  private static func stream(_ path: String, into digest: inout MessageDigest) throws {
    do {
      try digest.update(contentsOfFile: path)
    } catch let error as FileReadError {
      throw BuildError("the build's fingerprint: \(error)")
    }
  }
}
