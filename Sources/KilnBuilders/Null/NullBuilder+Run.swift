public import KilnCore

extension NullBuilder: RunnableBuilder {
  public func run(_ context: BuildContext, hooks: ProvisionHooks) async throws -> (any Artifact)? {
    let state = BuildState()
    var steps: [any BuildStep] = []
    if communicator.kind == .ssh {
      steps.append(StepConnectSSH(communicator: communicator, ui: context.ui))
    }
    let values = communicator.hookData(runUUID: context.runUUID)
    steps.append(StepProvision(values: { _ in values }, hooks: hooks, ui: context.ui))
    try await BuilderSteps.run(steps, state, context: context)
    return BasicArtifact(builderID: "fnoeding.null", id: "Null", summary: "Did not export anything. This is the null builder")
  }
}
