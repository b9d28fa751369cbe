import KilnCore

/// One build: the builder (whose provisioning step calls back into the provisioners), then
/// the post-processor chains. Returns the artifacts that are kept.
struct BuildRunner: Sendable {
  let build: PreparedBuild
  let context: BuildContext
  let policy: OnErrorPolicy

  func run() async throws -> [any Artifact] {
    guard let builder = build.builder as? any RunnableBuilder else { throw BuildError("builder cannot run") }
    let provisioners = build.provisioners
    let context = self.context
    var errorCleanup: ProvisionHook?
    if let provisioner = build.errorCleanupProvisioner {
      errorCleanup = { communicator, values in try await Self.provision(provisioner, context, communicator, values) }
    }
    let provision: ProvisionHook = { communicator, values in
      for provisioner in provisioners {
        try await Self.provision(provisioner, context, communicator, values)
      }
    }
    let hooks = ProvisionHooks(provision: provision, errorCleanup: errorCleanup)
    guard let artifact = try await builder.run(context, hooks: hooks) else { return [] }
    var kept: [any Artifact] = build.postProcessors.isEmpty ? [artifact] : []
    var keepBuilderArtifact = build.postProcessors.isEmpty
    for chain in build.postProcessors {
      var current: any Artifact = artifact
      for (position, postProcessor) in chain.enumerated() {
        guard let plugin = postProcessor.plugin as? any RunnablePostProcessor else { continue }
        context.ui.say("Running post-processor: \(postProcessor.definition.name)")
        let (next, keepInput) = try await plugin.postProcess(context, artifact: current, buildValues: artifact.generatedData.merging(["PackerRunUUID": context.runUUID]) { $1 })
        if position == 0, keepInput || postProcessor.definition.keepInputArtifact == true { keepBuilderArtifact = true }
        current = next
      }
      if current.id != artifact.id || current.builderID != artifact.builderID { kept.append(current) }
    }
    if keepBuilderArtifact, !kept.contains(where: { $0.id == artifact.id && $0.builderID == artifact.builderID }) {
      kept.insert(artifact, at: 0)
    }
    return kept
  }

  /// One provisioner with its template keys: pause_before, timeout, max_retries.
  static func provision(_ provisioner: PreparedProvisioner, _ context: BuildContext, _ communicator: (any Communicator)?, _ values: [String: String]) async throws {
    guard let plugin = provisioner.plugin as? any RunnableProvisioner else { return }
    let ui = context.ui
    if let pause = provisioner.pauseBefore, pause > 0 {
      ui.say("Pausing \(Int(pause))s before the next provisioner...")
      try await Task.sleep(for: .seconds(pause))
    }
    ui.say("Provisioning with \(provisioner.definition.type.value)...")
    var triesLeft = provisioner.maxRetries
    while true {
      do {
        if let timeout = provisioner.timeout, timeout > 0 {
          ui.say("Setting a \(Int(timeout))s timeout for the next provisioner...")
          try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await plugin.provision(context, communicator: communicator, buildValues: values) }
            group.addTask {
              try await Task.sleep(for: .seconds(timeout))
              throw BuildError("provisioner \(provisioner.definition.type.value) timed out after \(Int(timeout))s")
            }
            try await group.next()
            group.cancelAll()
          }
        } else {
          try await plugin.provision(context, communicator: communicator, buildValues: values)
        }
        return
      } catch {
        if error is CancellationError || triesLeft == 0 {
          if error is CancellationError { throw error }
          throw BuildError("provisioner \(provisioner.definition.type.value) (#\(provisioner.definition.index)) failed: \(error)")
        }
        ui.error("Provisioner failed with \"\(error)\", retrying with \(triesLeft) trie(s) left")
        triesLeft -= 1
      }
    }
  }
}
