/// A value from a template together with where it was written.
public struct Located<Value: Sendable>: Sendable {
  public var value: Value
  public var location: SourceLocation

  public init(_ value: Value, at location: SourceLocation) {
    self.value = value
    self.location = location
  }
}

/// A Packer JSON template, typed, with the position of everything in it.
///
/// Loading (`TemplateLoader`) checks only the template's own shape: what `packer validate
/// -syntax-only` checks. What the plugins make of their configuration is checked later by
/// `TemplateValidator`.
public struct Template: Sendable {
  /// The file the template was read from.
  public var path: String
  /// The absolute directory holding the template (`{{template_dir}}`).
  public var directory: String
  /// Where the root object starts.
  public var location: SourceLocation

  public var description: String?
  public var minimumPackerVersion: Located<String>?
  /// In file order.
  public var variables: [VariableDeclaration]
  public var sensitiveVariables: [Located<String>]
  public var builders: [BuilderDefinition]
  public var provisioners: [ProvisionerDefinition]
  /// Packer JSON has one; an HCL template one per `build` block, each limited (`only`) to
  /// that block's builds.
  public var errorCleanupProvisioners: [ProvisionerDefinition] = []
  /// Each element is one chain: a post-processor's output is the next one's input.
  public var postProcessors: [[PostProcessorDefinition]]

  /// Packer's two template languages; an HCL template's builds are named
  /// `[BUILD.]TYPE.NAME`, and `-only`/`-except` take globs for them.
  public var language: TemplateLanguage = .json
  /// An HCL template's `data` blocks, as `TYPE.NAME` at their labels.
  public var dataSources: [Located<String>] = []

  /// The (first) error-cleanup provisioner.
  public var errorCleanupProvisioner: ProvisionerDefinition? {
    get { errorCleanupProvisioners.first }
    set { errorCleanupProvisioners = newValue.map { [$0] } ?? [] }
  }

  public func variable(named name: String) -> VariableDeclaration? {
    variables.first { $0.name == name }
  }
}

public enum TemplateLanguage: Sendable {
  /// Packer's legacy JSON templates.
  case json
  /// HCL2: `.pkr.hcl`, `.pkr.json`, or a directory of them.
  case hcl
}

public struct VariableDeclaration: Sendable {
  public var name: String
  /// `nil` when the default is JSON `null`: the variable is required.
  public var defaultValue: String?
  public var location: SourceLocation
  /// The default's value node, for positions of interpolation errors inside it.
  public var node: JSONNode

  public var isRequired: Bool { defaultValue == nil }
}

public struct BuilderDefinition: Sendable {
  /// 1-based position in `builders`, for messages ("builder 2").
  public var index: Int
  /// The build name as written (`name`, or `type` when there is none). May contain `{{user}}`.
  public var name: String
  public var type: Located<String>
  /// The builder's object, without `name` and `type`.
  public var configuration: JSONNode
  public var location: SourceLocation
  /// HCL2: the source block's name (`eks` of `source "amazon-ebs" "eks"`), which Packer
  /// gives the plugins as the build's name (`packer_build_name`: `PACKER_BUILD_NAME`, the
  /// manifest's `name`, `{{build_name}}`), while `name` (`amazon-ebs.eks`) is the build's
  /// full name for `-only`/`-except` and the output. Nil for Packer JSON, where both are `name`.
  public var sourceName: String? = nil
}

public struct ProvisionerDefinition: BuildFiltered, Sendable {
  public var index: Int
  public var type: Located<String>
  public var only: [Located<String>]
  public var except: [Located<String>]
  /// Build name → partial configuration merged over `configuration` for that build.
  public var override: [(name: Located<String>, configuration: JSONNode)]
  public var pauseBefore: Located<String>?
  public var maxRetries: JSONNode?
  public var timeout: Located<String>?
  /// The provisioner's object without the keys above.
  public var configuration: JSONNode
  public var location: SourceLocation

  /// `configuration` with the build's override merged over it (one level, as Packer does).
  public func configuration(for build: String) -> JSONNode {
    guard let patch = override.first(where: { $0.name.value == build })?.configuration,
      let base = configuration.members, let extra = patch.members
    else { return configuration }
    var merged = base.filter { member in !extra.contains { $0.key == member.key } }
    merged += extra
    var node = configuration
    node.value = .object(merged)
    return node
  }
}

/// A provisioner or post-processor that names the builds it runs for (`only`) or not
/// (`except`); validation rejects a definition that gives both.
public protocol BuildFiltered {
  var only: [Located<String>] { get }
  var except: [Located<String>] { get }
}

extension BuildFiltered {
  /// Whether this runs for the build named `build`: in `only` when `only` is given, else not
  /// in `except`.
  public func applies(to build: String) -> Bool {
    if !only.isEmpty { return only.contains { $0.value == build } }
    return !except.contains { $0.value == build }
  }
}

public struct PostProcessorDefinition: BuildFiltered, Sendable {
  /// 1-based chain index and position in the chain, for messages ("post-processor 1.2").
  public var chain: Int
  public var index: Int
  public var type: Located<String>
  public var name: String
  public var only: [Located<String>]
  public var except: [Located<String>]
  public var keepInputArtifact: Bool?
  public var configuration: JSONNode
  public var location: SourceLocation
}
