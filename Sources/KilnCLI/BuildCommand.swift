import ArgumentParser
import Dispatch
import Foundation
import KilnCore
import Synchronization

struct BuildCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "build",
    abstract: "Run the builds of a template: builders, provisioners, post-processors.",
    discussion: "Exit code 0 only when every build succeeded. Ctrl-C cancels the builds and cleans up; a second Ctrl-C exits at once.")

  @OptionGroup var variables: VariableOptions
  @OptionGroup var filter: BuildFilterOptions

  @Flag(name: [.customLong("force", withSingleDash: true)], help: "Replace existing artifacts (and reset the manifest of an earlier run).")
  var force = false

  @Option(name: [.customLong("on-error", withSingleDash: true)], help: "cleanup (default), abort, ask or run-cleanup-provisioner.")
  var onError = "cleanup"

  @Option(name: [.customLong("parallel-builds", withSingleDash: true)], help: "How many builds at once (0: all).")
  var parallelBuilds = 0

  @Option(name: [.customLong("color", withSingleDash: true)], help: "Colour the output (true/false).")
  var color = true

  @Flag(name: [.customLong("timestamp-ui", withSingleDash: true)], help: "Prefix each line with a timestamp.")
  var timestampUI = false

  @Flag(name: [.customLong("machine-readable", withSingleDash: true)], help: "Packer's machine-readable output.")
  var machineReadable = false

  @Flag(name: [.customLong("debug", withSingleDash: true)], help: "Pause after each step and before each cleanup (builds run one at a time).")
  var debug = false

  @Argument(help: "The template file.")
  var template: String

  func validate() throws {
    guard ["cleanup", "abort", "ask", "run-cleanup-provisioner"].contains(onError) else {
      throw ValidationError("-on-error must be cleanup, abort, ask or run-cleanup-provisioner, not \(onError)")
    }
  }

  func run() async throws {
    var options = ValidationOptions()
    options.assignments = try variables.assignments()
    options.variableFiles = variables.varFiles
    options.only = filter.onlyNames
    options.except = filter.exceptNames
    let validation = TemplateValidator.validate(path: template, options: options, registry: registry)
    var uiOptions = ConsoleUI.Options()
    uiOptions.machineReadable = machineReadable
    uiOptions.color = color && !machineReadable && ProcessInfo.processInfo.environment["PACKER_NO_COLOR"] == nil && isatty(1) == 1
    uiOptions.timestamps = timestampUI
    uiOptions.progress = isatty(1) == 1 && !machineReadable
    var masker = SecretMasker(validation.variables?.sensitiveValues ?? [])
    let environment = ProcessInfo.processInfo.environment
    masker.add(["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"].compactMap { environment[$0] })
    let log = DebugLog(environment: environment, masker: masker)
    let console = ConsoleUI(options: uiOptions, masker: masker, log: log.isEnabled ? log : nil)
    if log.isEnabled { log.log("kiln \(KilnVersion.kiln) build \(template)") }

    let output = Output(masker: masker)
    for diagnostic in validation.diagnostics.sorted { output.err(diagnostic) }
    guard !validation.diagnostics.hasErrors, let parsed = validation.template, let variables = validation.variables else {
      throw ExitCode.failure
    }
    var notRunnable: [String] = []
    for build in validation.builds {
      if !(build.builder is any RunnableBuilder) { notRunnable.append("builder \(build.definition.type.value) (build '\(build.name)')") }
      for provisioner in build.provisioners where !(provisioner.plugin is any RunnableProvisioner) {
        notRunnable.append("provisioner \(provisioner.definition.type.value)")
      }
      for postProcessor in build.postProcessors.joined() where !(postProcessor.plugin is any RunnablePostProcessor) {
        notRunnable.append("post-processor \(postProcessor.definition.type.value)")
      }
    }
    if !notRunnable.isEmpty {
      output.err("error: kiln validates these but cannot build with them yet: \(Set(notRunnable).sorted().joined(separator: ", "))")
      throw ExitCode.failure
    }

    let runUUID = UUID().uuidString.lowercased()
    let resources = ResourceJournal()
    let askConsole = console
    let policy: OnErrorPolicy = switch onError {
    case "abort": .abort
    case "run-cleanup-provisioner": .runCleanupProvisioner
    case "ask" where !machineReadable:
      // Machine-readable output cannot prompt; Packer then cleans up, and so does kiln.
      .ask({ failure in
        askConsole.error("\(failure)")
        askConsole.message("[c] Clean up and exit, [a] abort without cleanup, or [r] retry step (build may fail even if retry succeeds)? ")
        // Ctrl-C cancels the build's task, which ends the wait: clean up as the answer "c" would.
        let line: String?? = try? await StandardInput.readLine()
        switch line??.trimmingCharacters(in: .whitespaces).lowercased() {
        case "a": return .abort
        case "r": return .retry
        default: return .cleanup
        }
      })
    default: .cleanup
    }
    let builds = validation.builds
    let limit = debug ? 1 : (parallelBuilds <= 0 ? builds.count : parallelBuilds)
    let debugPauses = debug
    let started = ContinuousClock.now
    let interrupted = Atomic<Bool>(false)
    let force = self.force
    let template = parsed
    let templatePath = self.template

    let buildMasker = masker
    let clockStart = options.clock
    let values = variables.values
    let declared = Set(template.variables.map(\.name))
    let directory = template.directory
    let workingDirectory = options.workingDirectory
    let environmentForBuilds = options.environment
    let runOne: @Sendable (Int) async -> (Int, String, Result<[any Artifact], any Error>, Duration) = { index in
      let build = builds[index]
      let ui = console.forBuild(build.name)
      var context = BuildContext(
        buildName: build.name, buildType: build.definition.type.value, ui: ui, clock: clockStart,
        variables: values, declaredVariables: declared, templateDirectory: directory,
        workingDirectory: workingDirectory, environment: environmentForBuilds, runUUID: runUUID, force: force)
      context.masker = buildMasker
      context.onError = policy
      context.log = log.isEnabled ? log : nil
      context.templatePath = templatePath
      context.resources = resources
      if debugPauses { context.stepHooks = DebugPauses(ui: ui, interrupted: { interrupted.load(ordering: .relaxed) }) }
      let begin = ContinuousClock.now
      do {
        let artifacts = try await BuildRunner(build: build, context: context, policy: policy).run()
        return (index, build.name, .success(artifacts), ContinuousClock.now - begin)
      } catch {
        return (index, build.name, .failure(error), ContinuousClock.now - begin)
      }
    }
    // Watch for signals before any build starts, so an early Ctrl-C is never fatal.
    let buildTask = Mutex<Task<[(String, Result<[any Artifact], any Error>, Duration)], Never>?>(nil)
    let signals = SignalWatcher { count in
      if count == 1 {
        interrupted.store(true, ordering: .relaxed)
        console.error("Cancelling build after receiving an interrupt; cleaning up what was created...")
        buildTask.withLock { $0?.cancel() }
      } else {
        let left = resources.outstanding
        if left.isEmpty {
          console.error("Interrupted again: exiting at once. Nothing kiln created is known to be left behind.")
        } else {
          console.error("Interrupted again: exiting at once. Left behind (kiln tags what it creates in the cloud, so it can be found):\n" + left.map { "  - " + $0 }.joined(separator: "\n"))
        }
        Foundation.exit(130)
      }
    }
    let work = Task { () -> [(String, Result<[any Artifact], any Error>, Duration)] in
      await withTaskGroup(of: (Int, String, Result<[any Artifact], any Error>, Duration).self) { group in
        var results: [(Int, String, Result<[any Artifact], any Error>, Duration)] = []
        var next = 0
        while next < min(limit, builds.count) {
          let index = next
          group.addTask { await runOne(index) }
          next += 1
        }
        for await result in group {
          results.append(result)
          if next < builds.count, !Task.isCancelled {
            let index = next
            group.addTask { await runOne(index) }
            next += 1
          }
        }
        return results.sorted { $0.0 < $1.0 }.map { ($0.1, $0.2, $0.3) }
      }
    }

    buildTask.withLock { $0 = work }
    if interrupted.load(ordering: .relaxed) { work.cancel() }
    let results = await work.value
    signals.stop()

    var errors: [(String, String)] = []
    var artifacts: [(String, [any Artifact])] = []
    for (name, result, duration) in results {
      switch result {
      case .success(let list):
        console.say("Build '\(name)' finished after \(Self.human(duration)).")
        artifacts.append((name, list))
      case .failure(let error):
        let text = error is CancellationError ? "build was cancelled" : "\(error)"
        console.error("Build '\(name)' errored after \(Self.human(duration)): \(text)")
        errors.append((name, text))
        console.machine(target: name, "error", [text])
      }
    }
    console.message("")
    console.say("Wait completed after \(Self.human(ContinuousClock.now - started))")
    if interrupted.load(ordering: .relaxed) {
      console.message("")
      // "Cleanly" only when every cancelled build's cleanup finished and nothing recorded
      // as created (or asked for) is left.
      let unfinished = results.compactMap { name, result, _ -> String? in
        if case .failure(let error) = result, error is CancelledLeavingResources { return name }
        return nil
      }
      let left = resources.outstanding
      if unfinished.isEmpty && left.isEmpty {
        console.say("Cleanly cancelled builds after being interrupted.")
      } else {
        var lines = left.map { "  - " + $0 }
        if !unfinished.isEmpty { lines.append("  - whatever the failed cleanups of build(s) \(unfinished.map { "'\($0)'" }.joined(separator: ", ")) were removing (above)") }
        console.error("Cancelled builds after being interrupted, but the cleanup did not finish. May be left behind (kiln tags what it creates in the cloud; `kiln sweep` finds it):\n" + lines.joined(separator: "\n"))
      }
      throw ExitCode.failure
    }
    if !errors.isEmpty {
      console.message("")
      console.error("Some builds didn't complete successfully and had errors:")
      for (name, text) in errors { console.message("--> \(name): \(text)") }
    }
    if artifacts.allSatisfy({ $0.1.isEmpty }) {
      console.message("")
      console.say("Builds finished but no artifacts were created.")
    } else {
      console.message("")
      console.say("Builds finished. The artifacts of successful builds are:")
      for (name, list) in artifacts {
        console.machine(target: name, "artifact-count", [String(list.count)])
        for (index, artifact) in list.enumerated() {
          console.message("--> \(name): \(artifact.summary)")
          let i = String(index)
          console.machine(target: name, "artifact", [i, "builder-id", artifact.builderID])
          console.machine(target: name, "artifact", [i, "id", artifact.id])
          console.machine(target: name, "artifact", [i, "string", artifact.summary])
          console.machine(target: name, "artifact", [i, "files-count", String(artifact.files.count)])
          for (j, file) in artifact.files.enumerated() { console.machine(target: name, "artifact", [i, "file", String(j), file]) }
          console.machine(target: name, "artifact", [i, "end"])
        }
      }
    }
    console.machine(target: "", "error-count", [String(errors.count)])
    if !errors.isEmpty { throw ExitCode.failure }
  }

  static func human(_ duration: Duration) -> String {
    let seconds = duration.inSeconds
    if seconds < 60 { return String(format: "%.3f seconds", seconds) }
    return "\(Int(seconds) / 60) minutes \(Int(seconds) % 60) seconds"
  }
}

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

/// SIGINT/SIGTERM. A `sigaction` handler is in place when `init` returns, and it does the
/// one async-signal-safe thing: write the signal's number to a pipe. A thread reading the
/// pipe calls the handler with how many have arrived.
///
/// (The first version ignored the signals and watched them with dispatch sources, as
/// SwiftPM's Cancellator does; but libdispatch arms a source asynchronously, so under load a
/// Ctrl-C that came right after the build started met SIG_IGN and was lost.)
final class SignalWatcher: Sendable {
  private let readEnd: Int32
  private let writeEnd: Int32

  init(_ handler: @escaping @Sendable (Int) -> Void) {
    var ends: [Int32] = [0, 0]
    guard pipe(&ends) == 0 else { fatalError("pipe() failed: \(String(cString: strerror(errno)))") }
    readEnd = ends[0]
    writeEnd = ends[1]
    _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
    _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)
    signalPipeWriteEnd.store(writeEnd, ordering: .sequentiallyConsistent)
    let readEnd = self.readEnd
    let thread = Thread {
      var count = 0
      var byte: UInt8 = 0
      while true {
        let n = read(readEnd, &byte, 1)
        if n == 1 {
          count += 1
          handler(count)
        } else if n == 0 || errno != EINTR {
          close(readEnd)
          return
        }
      }
    }
    thread.name = "kiln-signals"
    thread.start()
    for signalNumber in [SIGINT, SIGTERM] {
      var action = sigaction()
      action.__sigaction_handler.sa_handler = forwardSignal
      sigemptyset(&action.sa_mask)
      action.sa_flags = SA_RESTART
      sigaction(signalNumber, &action, nil)
    }
  }

  func stop() {
    signal(SIGINT, SIG_DFL)
    signal(SIGTERM, SIG_DFL)
    signalPipeWriteEnd.store(-1, ordering: .sequentiallyConsistent)
    close(writeEnd)
  }
}

private let signalPipeWriteEnd = Atomic<Int32>(-1)

private func forwardSignal(_ signalNumber: Int32) {
  let saved = errno
  var byte = UInt8(truncatingIfNeeded: signalNumber)
  let fd = signalPipeWriteEnd.load(ordering: .sequentiallyConsistent)
  if fd >= 0 { _ = write(fd, &byte, 1) }
  errno = saved
}

/// `-debug`: waits for Enter after each step and before each cleanup (Packer's DebugRunner).
/// Ctrl-C ends a pause (the build's task is cancelled), and an interrupted build cleans up
/// without pausing: cleanups run in a task the interrupt does not cancel, so a pause there
/// watches `interrupted` itself.
struct DebugPauses: StepHooks {
  let ui: any BuildUI
  let interrupted: @Sendable () -> Bool

  func afterRun(_ step: any BuildStep) async throws {
    ui.say("Pausing after run of step '\(step.name)'. Press enter to continue.")
    _ = try await StandardInput.readLine(abandonWhen: interrupted)
  }

  func beforeCleanup(_ step: any BuildStep) async {
    guard !interrupted() else { return }
    ui.say("Pausing before cleanup of step '\(step.name)'. Press enter to continue.")
    _ = try? await StandardInput.readLine(abandonWhen: interrupted)
  }
}
