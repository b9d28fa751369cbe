import Foundation

/// What a build produced (Packer's `Artifact`).
public protocol Artifact: Sendable {
  /// e.g. `mitchellh.amazonebs`, `packer.null`.
  var builderID: String { get }
  /// e.g. `us-east-1:ami-…,us-west-2:ami-…`; "Null" for the null builder.
  var id: String { get }
  var files: [String] { get }
  /// The human summary ("AMIs were created: …").
  var summary: String { get }
  /// The builder's generated data (`SourceAMI`, `BuildRegion`, …), which post-processors
  /// read through `{{build `…`}}` as in Packer.
  var generatedData: [String: String] { get }
}

extension Artifact {
  public var generatedData: [String: String] { [:] }
}

public struct BasicArtifact: Artifact {
  public var builderID: String
  public var id: String
  public var files: [String]
  public var summary: String

  public init(builderID: String, id: String, files: [String] = [], summary: String) {
    self.builderID = builderID
    self.id = id
    self.files = files
    self.summary = summary
  }
}

/// Everything a plugin needs while a build runs.
public struct BuildContext: Sendable {
  /// The build's full name (`-only`, the output's prefix, the ledger, the tags).
  public var buildName: String
  /// The name Packer gives the plugins (`packer_build_name`): `PACKER_BUILD_NAME`, the
  /// manifest's `name`, `{{build_name}}`. The build's name for Packer JSON; for HCL2 the
  /// source block's name (`eks`, where the build is `amazon-ebs.eks`).
  public var packerBuildName: String
  public var buildType: String
  public var ui: any BuildUI
  public var clock: BuildClock
  public var variables: [String: String]
  public var declaredVariables: Set<String>
  public var templateDirectory: String
  public var workingDirectory: String
  public var environment: [String: String]
  /// `PACKER_RUN_UUID`: one per `kiln build` run.
  public var runUUID: String
  /// `-force`.
  public var force: Bool
  /// Masks sensitive values in anything the build writes (manifest, logs).
  public var masker: SecretMasker = SecretMasker()
  /// `-on-error`, for the builder's step runner.
  public var onError: OnErrorPolicy = .cleanup
  /// `-debug` pauses, for the builder's step runner.
  public var stepHooks: (any StepHooks)?
  /// The hash of what the template gives this build (`BuildFingerprint`), which a builder
  /// completes with what only it knows and tags its artifacts with. Computed when a builder
  /// asks (it reads every file the provisioners upload): a builder that keeps no artifacts
  /// pays nothing for it.
  public var inputsFingerprint: (@Sendable () throws -> String)?
  /// `-skip-unchanged`: a builder that finds artifacts of the same fingerprint returns them
  /// instead of building.
  public var skipUnchanged = false
  /// The debug log (`KILN_LOG`), when on.
  public var log: DebugLog?
  /// The template file as given on the command line (for the tags on cloud resources).
  public var templatePath = ""
  /// The run's one ledger of live resources, shared by all its builds (a build's plugins
  /// record under their build's name). A context made outside a run has a ledger of its own.
  public var resources = ResourceJournal()

  public init(
    buildName: String, buildType: String, ui: any BuildUI, clock: BuildClock, variables: [String: String], declaredVariables: Set<String>,
    templateDirectory: String, workingDirectory: String, environment: [String: String], runUUID: String, force: Bool
  ) {
    self.buildName = buildName
    self.packerBuildName = buildName
    self.buildType = buildType
    self.ui = ui
    self.clock = clock
    self.variables = variables
    self.declaredVariables = declaredVariables
    self.templateDirectory = templateDirectory
    self.workingDirectory = workingDirectory
    self.environment = environment
    self.runUUID = runUUID
    self.force = force
  }

  /// Renders a string kept from prepare with the build's values known now (`{{build}}`,
  /// `.Fields`).
  public func render(_ text: String, phase: RenderContext.Phase, buildValues: [String: String], fields: [String: TemplateValue] = [:]) throws
    -> String
  {
    guard text.contains("{{") else { return text }
    var context = RenderContext(
      phase: phase, clock: clock, variables: variables, declaredVariables: declaredVariables,
      environment: environment, templateDirectory: templateDirectory, workingDirectory: workingDirectory,
      buildName: packerBuildName, buildType: buildType, fields: fields, buildValues: buildValues)
    context.buildKeys = RenderContext.commonBuildKeys.union(buildValues.keys)
    do {
      return try Interpolator.render(text, in: context).output
    } catch {
      throw BuildError("cannot render \"\(text)\": \(error.message)")
    }
  }
}

/// Runs the provisioners of a build on a connected machine (the builder calls it from its
/// provisioning step; Packer's `packer_provision` hook).
public typealias ProvisionHook = @Sendable (_ communicator: (any Communicator)?, _ buildValues: [String: String]) async throws -> Void

/// The hooks a builder's provisioning step calls: the provisioners, and (from the step's
/// cleanup, only when the build failed) the template's `error-cleanup-provisioner`.
public struct ProvisionHooks: Sendable {
  public var provision: ProvisionHook
  public var errorCleanup: ProvisionHook?

  public init(provision: @escaping ProvisionHook, errorCleanup: ProvisionHook?) {
    self.provision = provision
    self.errorCleanup = errorCleanup
  }
}

/// A builder that can run, not only validate.
public protocol RunnableBuilder: BuilderPlugin {
  /// The artifact, or nil when the build made none (amazon-ebs with `skip_create_ami`);
  /// post-processors then do not run.
  func run(_ context: BuildContext, hooks: ProvisionHooks) async throws -> (any Artifact)?
}

public protocol RunnableProvisioner: ProvisionerPlugin {
  func provision(_ context: BuildContext, communicator: (any Communicator)?, buildValues: [String: String]) async throws
}

public protocol RunnablePostProcessor: PostProcessorPlugin {
  /// Returns the new artifact and whether the input must be kept.
  func postProcess(_ context: BuildContext, artifact: any Artifact, buildValues: [String: String]) async throws -> (
    artifact: any Artifact, keepInput: Bool
  )
  /// Whether a `keep_input_artifact: false` in the template is overruled when the
  /// post-processor keeps its input (Packer's `forceOverride`).
  var forcesKeepingInput: Bool { get }
}

extension RunnablePostProcessor {
  public var forcesKeepingInput: Bool { false }
}

/// A build-time failure whose description is the whole message.
public struct BuildError: Error, CustomStringConvertible, Sendable {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}
