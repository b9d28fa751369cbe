public import KilnCore
public import KilnProvisioners

/// Packer's `manifest` post-processor (reference §5): appends this build's artifact to a
/// JSON file for CI.
public struct ManifestPostProcessor: PostProcessorPlugin {
  public static let typeName = "manifest"

  public var output: String
  public var stripPath: Bool
  public var stripTime: Bool
  public var customData: [(key: String, value: String)]

  public init(from r: inout ConfigReader) {
    output = r.string("output") ?? "packer-manifest.json"
    if output.isEmpty { output = "packer-manifest.json" }
    stripPath = r.bool("strip_path") ?? false
    stripTime = r.bool("strip_time") ?? false
    customData = r.stringMap("custom_data") ?? []
  }
}

/// Packer's `checksum` post-processor: writes checksums of the artifact's files.
public struct ChecksumPostProcessor: PostProcessorPlugin {
  public static let typeName = "checksum"
  public static let lateKeys: [String: Set<String>] = ["output": ["BuildName", "BuilderType", "ChecksumType"]]
  public static let supportedTypes = ["md5", "sha1", "sha224", "sha256", "sha384", "sha512"]

  public var checksumTypes: [String]
  public var output: String

  public init(from r: inout ConfigReader) {
    checksumTypes = r.stringList("checksum_types") ?? ["md5"]
    for type in checksumTypes where !Self.supportedTypes.contains(type) {
      r.error(key: "checksum_types", "contains \"\(type)\"; supported: \(Self.supportedTypes.joined(separator: ", "))")
    }
    output = r.string("output") ?? "packer_{{.BuildName}}_{{.BuilderType}}_{{.ChecksumType}}.checksum"
  }
}

/// Packer's `shell-local` post-processor: runs local commands with the artifact's data.
public struct ShellLocalPostProcessor: PostProcessorPlugin {
  public static let typeName = "shell-local"
  public static var lateKeys: [String: Set<String>] { ShellLocalConfig.lateKeys }

  public var config: ShellLocalConfig

  public init(from r: inout ConfigReader) {
    config = ShellLocalConfig(from: &r, postProcessor: true)
  }
}

extension PluginRegistry {
  /// Registers the post-processors of this module.
  public mutating func registerPostProcessors() {
    register(postProcessor: ManifestPostProcessor.self)
    register(postProcessor: ChecksumPostProcessor.self)
    register(postProcessor: ShellLocalPostProcessor.self)
  }
}
