public import Foundation

/// The one clock of a Kiln run. Every `{{timestamp}}`, `{{isotime}}` and `{{uuid}}` prefix in
/// a run reads this instant, so an AMI name and the tag that records it always agree (Packer
/// gives each plugin process its own clock: hashicorp/packer#4136).
public struct BuildClock: Sendable, Hashable {
  public let start: Date

  public init(start: Date = Date()) {
    // Whole seconds, so `timestamp` and `isotime` describe the same instant.
    self.start = Date(timeIntervalSince1970: start.timeIntervalSince1970.rounded(.down))
  }

  public var unixSeconds: Int { Int(start.timeIntervalSince1970) }
}

/// Where a string is being rendered, which decides the functions and `.Fields` it may use
/// (Packer's "where is it allowed" rules, reference §3.7).
public struct RenderContext: Sendable {
  public enum Phase: String, Sendable {
    /// A variable's default or a `-var` value: `env` allowed; an undefined `user` is an error.
    case variables
    /// A builder's configuration.
    case builder
    /// A provisioner's configuration: `build` allowed.
    case provisioner
    /// A post-processor's configuration: `build` allowed.
    case postProcessor
  }

  public var phase: Phase
  public var clock: BuildClock
  /// The user variables known so far (name → value).
  public var variables: [String: String]
  /// Variables that have a value which is not rendered yet: `{{user}}` on one of them fails
  /// with `InterpolationError.pendingVariable` set, so the variables phase can render each
  /// variable once, after the ones it uses, and see a cycle as one.
  public var pendingVariables: Set<String> = []
  /// Variable names declared in the template (so an undeclared one can be warned about).
  public var declaredVariables: Set<String>
  /// The process environment, for `env` in the variables phase.
  public var environment: [String: String]
  /// The absolute directory of the template file, for `template_dir`.
  public var templateDirectory: String?
  public var workingDirectory: String
  public var buildName: String?
  public var buildType: String?
  public var packerVersion: String

  /// Values for `.Field` access (`.SourceAMI`, `.Path`, `.Vars`, ...).
  public var fields: [String: TemplateValue]
  /// Fields that exist here but whose values are only known later in the build: rendering
  /// leaves such an action as written, to be rendered again when the value is known.
  public var deferredFields: Set<String>

  /// Values for `{{build `Key`}}`; `nil` means "not known yet" (validate and prepare), when
  /// `build` leaves the action as written. `buildKeys` lists the keys that exist at all.
  public var buildValues: [String: String]?
  public var buildKeys: Set<String>

  public init(
    phase: Phase,
    clock: BuildClock,
    variables: [String: String] = [:],
    declaredVariables: Set<String> = [],
    environment: [String: String] = [:],
    templateDirectory: String? = nil,
    workingDirectory: String = FileManager.default.currentDirectoryPath,
    buildName: String? = nil,
    buildType: String? = nil,
    packerVersion: String = KilnVersion.packerCompatibility,
    fields: [String: TemplateValue] = [:],
    deferredFields: Set<String> = [],
    buildValues: [String: String]? = nil,
    buildKeys: Set<String> = RenderContext.commonBuildKeys
  ) {
    self.phase = phase
    self.clock = clock
    self.variables = variables
    self.declaredVariables = declaredVariables
    self.environment = environment
    self.templateDirectory = templateDirectory
    self.workingDirectory = workingDirectory
    self.buildName = buildName
    self.buildType = buildType
    self.packerVersion = packerVersion
    self.fields = fields
    self.deferredFields = deferredFields
    self.buildValues = buildValues
    self.buildKeys = buildKeys
  }

  /// The `build` keys every builder with a communicator provides (reference §3.7).
  public static let commonBuildKeys: Set<String> = [
    "ID", "Host", "Port", "User", "Password", "ConnType", "SSHPublicKey", "SSHPrivateKey",
    "SSHPrivateKeyFile", "SSHAgentAuth", "WinRMPassword", "PackerRunUUID", "PackerHTTPIP",
    "PackerHTTPPort", "PackerHTTPAddr",
  ]
}

/// Kiln's own version, and the Packer version it answers to for `min_packer_version` and
/// `{{packer_version}}`.
public enum KilnVersion {
  public static let kiln = "0.1.0"
  /// The Packer version whose template languages Kiln implements: HCL2 as Packer 1.9.4 reads
  /// it (the last MPL release), and JSON as Packer reads it (unchanged since 1.6.6, plus the
  /// Amazon plugin's newer options). `packer.version`, `{{packer_version}}`, `kiln version`,
  /// and what HCL's `required_version` and JSON's `min_packer_version` are checked against.
  public static let packerCompatibility = "1.9.4"
}
