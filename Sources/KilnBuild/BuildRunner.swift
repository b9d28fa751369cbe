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
    return try await postProcess(artifact)
  }

  /// The post-processor chains, as Packer 1.6.6's `CoreBuild.Run` runs them: each chain
  /// starts from the builder's artifact; a post-processor's input is kept when it says so
  /// (or `keep_input_artifact` says so and it does not force its own choice), the first
  /// post-processor of a chain deciding for the builder's artifact; the result lists the
  /// builder's artifact first when kept, then each chain's kept inputs and its last artifact.
  /// A failing post-processor ends its chain, not the others; the build then fails with
  /// every failure, as Packer's MultiError lists them. (Kiln's post-processors all keep and
  /// force-keep their input, as Packer's manifest, checksum and shell-local do, so no artifact
  /// is ever discarded here.)
  func postProcess(_ artifact: any Artifact) async throws -> [any Artifact] {
    var artifacts: [any Artifact] = []
    var keepOriginal = build.postProcessors.isEmpty
    var failures: [String] = []
    let values = artifact.generatedData.merging(["PackerRunUUID": context.runUUID]) { $1 }
    for chain in build.postProcessors {
      var prior: any Artifact = artifact
      var failed = false
      for (position, postProcessor) in chain.enumerated() {
        guard let plugin = postProcessor.plugin as? any RunnablePostProcessor else { continue }
        let definition = postProcessor.definition
        let type = definition.type.value
        context.ui.say(definition.name == type ? "Running post-processor: \(type)" : "Running post-processor: \(definition.name) (type \(type))")
        var ppContext = context
        ppContext.ui = context.ui.forPostProcessor(type)
        let next: any Artifact
        let keepInput: Bool
        do {
          (next, keepInput) = try await plugin.postProcess(ppContext, artifact: prior, buildValues: values)
        } catch is CancellationError {
          throw CancellationError()
        } catch {
          failures.append("Post-processor failed: \(error)")
          failed = true
          break
        }
        var keep = keepInput
        if let chosen = definition.keepInputArtifact, !(keepInput && !chosen && plugin.forcesKeepingInput) { keep = chosen }
        if position == 0 {
          if keep { keepOriginal = true }
        } else if keep {
          artifacts.append(prior)
        }
        prior = next
      }
      if !failed { artifacts.append(prior) }
    }
    if keepOriginal { artifacts.insert(artifact, at: 0) }
    if !failures.isEmpty {
      throw BuildError("\(failures.count) error(s) occurred:\n\n" + failures.map { "* " + $0 }.joined(separator: "\n"))
    }
    return artifacts
  }

  /// One provisioner with its template keys: pause_before, timeout, max_retries.
  static func provision(_ provisioner: PreparedProvisioner, _ context: BuildContext, _ communicator: (any Communicator)?, _ values: [String: String])
    async throws
  {
    guard let plugin = provisioner.plugin as? any RunnableProvisioner else { return }
    let ui = context.ui
    if let pause = provisioner.pauseBefore, pause > 0 {
      ui.say("Pausing \(GoDuration.format(seconds: pause)) before the next provisioner...")
      try await Task.sleep(for: .seconds(pause))
    }
    var triesLeft = provisioner.maxRetries
    while true {
      do {
        if let timeout = provisioner.timeout, timeout > 0 {
          ui.say("Setting a \(GoDuration.format(seconds: timeout)) timeout for the next provisioner...")
          try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await plugin.provision(context, communicator: communicator, buildValues: values) }
            group.addTask {
              try await Task.sleep(for: .seconds(timeout))
              ui.error("Cancelling provisioner after a timeout...")
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
        if error is CancellationError { throw error }
        if triesLeft == 0 {
          if provisioner.maxRetries > 0 { ui.say("retry limit reached.") }
          throw BuildError("provisioner \(provisioner.definition.type.value) (#\(provisioner.definition.index)) failed: \(error)")
        }
        ui.say("Provisioner failed with \(GoFormat.quote("\(error)")), retrying with \(triesLeft) trie(s) left")
        triesLeft -= 1
      }
    }
  }
}
