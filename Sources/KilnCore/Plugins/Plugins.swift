/// A builder: decodes its configuration (no side effects) and, in later stages, runs.
///
/// Plugins register by their Packer type name in a `PluginRegistry`, so adding one is one
/// file and one line.
public protocol BuilderPlugin: Sendable {
  /// The Packer type name, e.g. "amazon-ebs".
  static var typeName: String { get }
  /// Keys rendered with build data at run time, and the `.Fields` each may use.
  static var lateKeys: [String: Set<String>] { get }
  /// Extra keys this builder offers to provisioners and post-processors through
  /// `{{build `Key`}}` (its generated data, e.g. `SourceAMI`).
  static var generatedDataKeys: Set<String> { get }
  /// Decodes and checks the configuration, reporting through `reader`. No side effects.
  init(from reader: inout ConfigReader)
  /// Whether the build connects to the machine (false for `communicator: none`).
  var hasCommunicator: Bool { get }
}

extension BuilderPlugin {
  public static var lateKeys: [String: Set<String>] { [:] }
  public static var generatedDataKeys: Set<String> { [] }
}

public protocol ProvisionerPlugin: Sendable {
  static var typeName: String { get }
  static var lateKeys: [String: Set<String>] { get }
  /// Whether it needs the build's communicator (remote `shell`, `file`).
  static var needsCommunicator: Bool { get }
  init(from reader: inout ConfigReader)
}

extension ProvisionerPlugin {
  public static var lateKeys: [String: Set<String>] { [:] }
  public static var needsCommunicator: Bool { false }
}

public protocol PostProcessorPlugin: Sendable {
  static var typeName: String { get }
  static var lateKeys: [String: Set<String>] { get }
  init(from reader: inout ConfigReader)
}

extension PostProcessorPlugin {
  public static var lateKeys: [String: Set<String>] { [:] }
}

/// The plugin types Kiln knows, by Packer type name.
public struct PluginRegistry: Sendable {
  public private(set) var builders: [String: any BuilderPlugin.Type] = [:]
  public private(set) var provisioners: [String: any ProvisionerPlugin.Type] = [:]
  public private(set) var postProcessors: [String: any PostProcessorPlugin.Type] = [:]
  /// HCL2's `data "TYPE" "NAME"` blocks.
  public private(set) var dataSources: [String: any DataSourcePlugin.Type] = [:]

  public init() {}

  public mutating func register(builder: any BuilderPlugin.Type) { builders[builder.typeName] = builder }
  public mutating func register(provisioner: any ProvisionerPlugin.Type) { provisioners[provisioner.typeName] = provisioner }
  public mutating func register(postProcessor: any PostProcessorPlugin.Type) { postProcessors[postProcessor.typeName] = postProcessor }
  public mutating func register(dataSource: any DataSourcePlugin.Type) { dataSources[dataSource.typeName] = dataSource }

  public var supportedTypes: (builders: [String], provisioners: [String], postProcessors: [String]) {
    (builders.keys.sorted(), provisioners.keys.sorted(), postProcessors.keys.sorted())
  }
}
