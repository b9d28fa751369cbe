import Foundation
public import KilnAWS
public import KilnCore

extension AmazonEBSBuilder: RunnableBuilder {
  /// Packer's amazon-ebs step list (`../shared/docs/packer-reference.md` §1.2), one file per
  /// step under `Steps/` (connect and provision, which every builder uses, under
  /// `Common/Steps/`), run by `BuilderSteps` with cleanup in reverse order on success,
  /// failure and Ctrl-C alike.
  public func run(_ context: BuildContext, hooks: ProvisionHooks) async throws -> (any Artifact)? {
    try await run(context, hooks: hooks, makeRun(context))
  }

  /// The same build over EC2 clients the caller makes, one per region it touches (the build
  /// region, then `ami_regions`): the seam through which tests run the whole step list
  /// against an in-memory EC2 (`_KilnTestSupport.FakeEC2`) or a moto-backed `EC2Client`.
  /// No credentials are resolved and no HTTP client is made; the template must name its
  /// `region`.
  func run(_ context: BuildContext, hooks: ProvisionHooks, clients: (_ region: String) throws -> any EC2API) async throws -> (any Artifact)? {
    guard !config.access.region.isEmpty else { throw BuildError("no region: set 'region' in the template") }
    return try await run(context, hooks: hooks, makeRun(context, region: config.access.region, caBundle: nil, clients: clients))
  }

  private func run(_ context: BuildContext, hooks: ProvisionHooks, _ run: EBSRun) async throws -> (any Artifact)? {
    let state = BuildState()
    var steps: [any BuildStep] = [
      StepPreValidate(run: run),
      StepSourceAMI(run: run),
      StepSkipUnchanged(run: run),
      StepNetwork(run: run),
      StepKeyPair(run: run),
      StepSecurityGroup(run: run),
      StepRunInstance(run: run),
    ]
    if config.communicator.kind == .ssh {
      steps.append(StepSSHAddress(run: run))
      steps.append(StepConnectSSH(communicator: config.communicator, ui: context.ui, earlyCleanup: .sourceInstance))
    }
    let communicator = config.communicator
    steps += [
      StepProvision(values: { state in Self.hookData(state, run: run, communicator: communicator) }, hooks: hooks, ui: context.ui),
      StepCleanupTemporaryKeys(run: run),
      StepStopInstance(run: run),
      StepDeregisterExisting(run: run),
      StepCreateAMI(run: run),
      StepCopyAMI(run: run),
      StepFinishAMIs(run: run),
    ]
    try await BuilderSteps.run(
      steps, state, context: context, leftovers: ("AWS (tagged kiln:run=\(context.runUUID))", { run.resources.outstanding }))
    let amis = state[BuildAMIs.self] ?? [:]
    guard !amis.isEmpty else { return nil }
    return AMIArtifact(amis: amis, generatedData: state[GeneratedData.self] ?? [:])
  }

  /// The AWS side of the run: credentials (the AWS CLI's chain, see `CredentialsChain`), the
  /// build region, one client per region, Kiln's tags.
  func makeRun(_ context: BuildContext) throws -> EBSRun {
    let ui = context.ui
    let debugLog = context.log
    if config.access.insecureSkipTLSVerify {
      ui.error("Warning: insecure_skip_tls_verify is set: TLS certificates of the AWS endpoints are not checked")
    }
    let aws = try clients(
      environment: context.environment, sessionName: "kiln-\(context.runUUID.prefix(8))",
      log: AWSClientLog(debug: { debugLog?.log($0) }, console: { ui.message($0) }))
    return try makeRun(context, region: aws.region, caBundle: aws.caBundle, clients: aws.make)
  }

  /// The build region and a maker of EC2 clients for it and the other regions, with the
  /// template's credentials, endpoints, TLS settings and retries: what a build uses, and what
  /// `kiln prune` uses to look at the same regions.
  public func clients(
    environment: [String: String], sessionName: String, log: AWSClientLog
  ) throws -> (region: String, caBundle: String?, make: (_ region: String) throws -> EC2Client) {
    let connection = try config.access.connect(environment: environment, sessionName: sessionName, log: log)
    return (connection.region, connection.caBundle, { name in try connection.ec2(name, limiterKey: "amazon-ebs") })
  }

  /// The run over one client per region from `clients`, with Kiln's tags and the wait policies.
  func makeRun(_ context: BuildContext, region: String, caBundle: String?, clients makeClient: (_ region: String) throws -> any EC2API) throws
    -> EBSRun
  {
    var clients: [String: any EC2API] = [:]
    for name in [region] + config.amiRegions where clients[name] == nil {
      clients[name] = try makeClient(name)
    }
    let created = Date().formatted(.iso8601)
    let template = context.templatePath.isEmpty ? "-" : URL(fileURLWithPath: context.templatePath).lastPathComponent
    let tags = [
      EC2Tag("kiln:run", context.runUUID), EC2Tag("kiln:template", template),
      EC2Tag("kiln:build", context.buildName), EC2Tag("kiln:created", created),
    ]
    return EBSRun(
      config: config, context: context, region: region, clients: clients, kilnTags: tags, resources: LiveResources(context),
      waits: try EBSRun.WaitPolicies(config.access.polling, environment: context.environment), caBundle: caBundle)
  }

  /// What provisioners see through `{{build `…`}}` (the SDK's `StepProvision` hook data).
  static func hookData(_ state: BuildState, run: EBSRun, communicator: CommunicatorConfig) -> [String: String] {
    let key = state[LaunchKeyPair.self]
    var data = communicator.hookData(
      runUUID: run.context.runUUID, instanceID: state[BuildInstance.self]?.instanceID ?? "",
      host: state[SSHTarget.self]?.host, publicKey: key?.publicKeyLine ?? "", privateKeyPEM: key?.privateKeyPEM)
    for (name, value) in state[GeneratedData.self] ?? [:] { data[name] = value }
    return data
  }
}

/// The AMIs of a build, one per region (Packer's amazon `Artifact`).
public struct AMIArtifact: Artifact {
  public let amis: [String: String]
  public let generatedData: [String: String]

  public init(amis: [String: String], generatedData: [String: String]) {
    self.amis = amis
    self.generatedData = generatedData
  }
  public var builderID: String { "mitchellh.amazonebs" }
  /// `region:ami-id` pairs sorted and comma-joined: `us-east-1:ami-…,us-west-2:ami-…`.
  public var id: String { amis.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ",") }
  public var files: [String] { [] }
  public var summary: String {
    "AMIs were created:\n" + amis.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)\n" }.joined()
  }
}
