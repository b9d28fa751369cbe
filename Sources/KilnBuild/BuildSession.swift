import Foundation
public import KilnCore
import Synchronization

/// One `kiln build` run as a library: the builds of a validated template, each through its
/// builder, provisioners and post-processor chains, at most `Options.parallelBuilds` at once.
///
/// Create it with the template's `Validation` (from `TemplateValidator`), the options the
/// command line gave and the console to talk through; `run()` runs every build and returns
/// what happened. The session owns what the run shares: its `runUUID`, the `-on-error`
/// policy (with the `ask` prompt), the `-debug` pauses, and `resources`, the one ledger of
/// live resources that every build records in (through `BuildContext.resources`).
///
/// While it runs, the session watches SIGINT and SIGTERM (unless `Options.watchesSignals` is
/// off): the first cancels the builds, which clean up; the second names what the ledger still
/// holds and exits the process at once with status 130.
///
/// ```swift
/// let validation = await TemplateValidator.validate(path: path, options: validationOptions, registry: registry, dataSources: evaluator)
/// let session = BuildSession(validation: validation, validationOptions: validationOptions, options: options, console: console)
/// switch await session.run() { … }
/// ```
public struct BuildSession: Sendable {
  /// Reads a line at a prompt (`-debug`, `-on-error=ask`); nil at end of input. Throws
  /// `CancellationError` when the waiting task is cancelled or `abandonWhen` turns true.
  public typealias ReadLine = @Sendable (_ abandonWhen: @escaping @Sendable () -> Bool) async throws -> String?

  /// What the command line sets for a run.
  public struct Options: Sendable {
    /// The template file as given (for the tags on cloud resources).
    public var templatePath: String
    /// `-force`: replace existing artifacts.
    public var force = false
    /// `-on-error`.
    public var onError = OnError.cleanup
    /// `-parallel-builds`: how many builds at once (0: all).
    public var parallelBuilds = 0
    /// `-debug`: pause after each step and before each cleanup; builds run one at a time.
    public var debug = false
    /// `-skip-unchanged`.
    public var skipUnchanged = false
    /// Whether the session handles SIGINT/SIGTERM while it runs.
    public var watchesSignals = true

    public init(templatePath: String) { self.templatePath = templatePath }
  }

  /// `-on-error`: what a build does when a step fails.
  public enum OnError: String, Sendable, CaseIterable {
    case cleanup, abort, ask
    case runCleanupProvisioner = "run-cleanup-provisioner"
  }

  public let validation: Validation
  public let validationOptions: ValidationOptions
  public let options: Options
  public let console: ConsoleUI
  /// The debug log (`KILN_LOG`), when on.
  public let log: DebugLog?
  /// `PACKER_RUN_UUID`: one per session.
  /// The run's UUID (`PACKER_RUN_UUID`); the `-events` stream's when there is one.
  public let runUUID: String
  /// The run's ledger of live resources (each change also an `-events` event).
  public let resources: ResourceJournal
  /// Where prompt answers come from: standard input unless a caller says otherwise.
  public var readLine: ReadLine = { try await StandardInput.readLine(abandonWhen: $0) }

  public init(validation: Validation, validationOptions: ValidationOptions, options: Options, console: ConsoleUI, log: DebugLog? = nil) {
    self.validation = validation
    self.validationOptions = validationOptions
    self.options = options
    self.console = console
    self.log = log
    runUUID = console.events?.runUUID ?? UUID().uuidString.lowercased()
    resources = ResourceJournal { change, owner, resource in
      let type =
        switch change {
        case .created: "resource-created"
        case .updated: "resource-updated"
        case .deleted: "resource-deleted"
        }
      console.event(type, build: owner.build, ["plugin": .string(owner.plugin), "resource": .string(resource)])
    }
  }

  /// Runs the builds and returns how each ended; nothing is printed of the summary (the
  /// caller reports it), only what the builds say while they run.
  public func run() async -> BuildSessionResult {
    guard !validation.diagnostics.hasErrors, let template = validation.template, let variables = validation.variables else {
      return .invalid
    }
    let notRunnable = Self.notRunnable(validation.builds)
    if !notRunnable.isEmpty { return .cannotRun(notRunnable) }

    let builds = validation.builds
    let limit = options.debug ? 1 : (options.parallelBuilds <= 0 ? builds.count : options.parallelBuilds)
    let started = ContinuousClock.now
    let interrupted = Atomic<Bool>(false)
    let policy = onErrorPolicy()
    let console = self.console
    let resources = self.resources
    let masker = Self.secretMasker(for: validation, environment: validationOptions.environment)
    let clock = validationOptions.clock
    let values = variables.values
    let declared = Set(template.variables.map(\.name))
    let directory = template.directory
    let workingDirectory = validationOptions.workingDirectory
    let environment = validationOptions.environment
    let runUUID = self.runUUID
    let force = options.force
    let templatePath = options.templatePath
    let log = self.log
    let debug = options.debug
    let readLine = self.readLine
    let skipUnchanged = options.skipUnchanged
    let sensitive = Set(template.sensitiveVariables.map(\.value))
    console.event(
      "run-start", ["template": .string(templatePath), "kiln_version": .string(KilnVersion.kiln), "builds": .strings(builds.map(\.name))])
    let runOne: @Sendable (Int) async -> (Int, BuildSessionResult.Build) = { index in
      let build = builds[index]
      let ui = console.forBuild(build.name)
      ui.event("build-start", ["builder": .string(build.definition.type.value)])
      var context = BuildContext(
        buildName: build.name, buildType: build.definition.type.value, ui: ui, clock: clock,
        variables: values, declaredVariables: declared, templateDirectory: directory,
        workingDirectory: workingDirectory, environment: environment, runUUID: runUUID, force: force)
      context.packerBuildName = build.definition.sourceName ?? build.name
      context.masker = masker
      context.onError = policy
      context.log = log
      context.templatePath = templatePath
      context.resources = resources
      context.skipUnchanged = skipUnchanged
      let fingerprintContext = context
      context.inputsFingerprint = { try BuildFingerprint.inputs(of: build, variables: values, sensitive: sensitive, context: fingerprintContext) }
      if debug { context.stepHooks = DebugPauses(ui: ui, interrupted: { interrupted.load(ordering: .relaxed) }, readLine: readLine) }
      let begin = ContinuousClock.now
      let result: Result<[any Artifact], any Error>
      do {
        result = .success(try await BuildRunner(build: build, context: context, policy: policy).run())
      } catch {
        result = .failure(error)
      }
      let ended = BuildSessionResult.Build(name: build.name, result: result, duration: ContinuousClock.now - begin)
      if case .success(let artifacts) = result {
        for (position, artifact) in artifacts.enumerated() {
          ui.event(
            "artifact",
            [
              "index": .int(position), "builder_id": .string(artifact.builderID), "id": .string(artifact.id), "string": .string(artifact.summary),
              "files": .strings(artifact.files),
            ])
        }
      }
      var fields: [String: EventStream.Value] = ["outcome": .string(ended.outcome), "seconds": .double(ended.duration.inSeconds)]
      if let message = ended.errorMessage { fields["error"] = .string(message) }
      ui.event("build-end", fields)
      return (index, ended)
    }
    // Watch for signals before any build starts, so an early Ctrl-C is never fatal.
    let buildTask = Mutex<Task<[BuildSessionResult.Build], Never>?>(nil)
    let signals =
      options.watchesSignals
      ? SignalWatcher { count, signal in
        console.event("interrupt", ["signal": .string(goSignalName(signal)), "count": .int(count)])
        if count == 1 {
          interrupted.store(true, ordering: .relaxed)
          console.error("Cancelling build after receiving \(goSignalName(signal))")
          buildTask.withLock { $0?.cancel() }
        } else {
          let left = resources.outstanding
          if left.isEmpty {
            console.error("Interrupted again: exiting at once. Nothing kiln created is known to be left behind.")
          } else {
            console.error(
              "Interrupted again: exiting at once. Left behind (kiln tags what it creates in the cloud, so it can be found):\n"
                + left.map { "  - " + $0 }.joined(separator: "\n"))
          }
          Foundation.exit(130)
        }
      } : nil
    let work = Task { () -> [BuildSessionResult.Build] in
      await withTaskGroup(of: (Int, BuildSessionResult.Build).self) { group in
        var results: [(Int, BuildSessionResult.Build)] = []
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
        return results.sorted { $0.0 < $1.0 }.map(\.1)
      }
    }

    buildTask.withLock { $0 = work }
    if interrupted.load(ordering: .relaxed) { work.cancel() }
    let results = await work.value
    signals?.stop()
    let report = BuildReport(
      builds: results, elapsed: ContinuousClock.now - started,
      interrupted: interrupted.load(ordering: .relaxed), left: resources.outstanding)
    console.event(
      "run-end",
      [
        "outcome": .string(report.interrupted ? "cancelled" : report.succeeded ? "succeeded" : "failed"),
        "seconds": .double(report.elapsed.inSeconds),
      ])
    return .ran(report)
  }

  /// What the run's output must never show: the template's sensitive variables and the AWS
  /// secrets of the environment.
  public static func secretMasker(for validation: Validation, environment: [String: String]) -> SecretMasker {
    var masker = secretMasker(environment: environment)
    masker.add(validation.variables?.sensitiveValues ?? [])
    return masker
  }

  /// The AWS secrets of the environment alone (what is known before the template is read).
  public static func secretMasker(environment: [String: String]) -> SecretMasker {
    SecretMasker(["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"].compactMap { environment[$0] })
  }

  /// The builders, provisioners and post-processors of `builds` that validate but cannot run.
  static func notRunnable(_ builds: [PreparedBuild]) -> [String] {
    var notRunnable: Set<String> = []
    for build in builds {
      if !(build.builder is any RunnableBuilder) { notRunnable.insert("builder \(build.definition.type.value) (build '\(build.name)')") }
      for provisioner in build.provisioners where !(provisioner.plugin is any RunnableProvisioner) {
        notRunnable.insert("provisioner \(provisioner.definition.type.value)")
      }
      for postProcessor in build.postProcessors.joined() where !(postProcessor.plugin is any RunnablePostProcessor) {
        notRunnable.insert("post-processor \(postProcessor.definition.type.value)")
      }
    }
    return notRunnable.sorted()
  }

  /// `-on-error` as the step runner takes it. `ask` prompts on the console and reads the
  /// answer through `readLine`; machine-readable output cannot prompt, so there (as in
  /// Packer) it cleans up.
  func onErrorPolicy() -> OnErrorPolicy {
    switch options.onError {
    case .cleanup: return .cleanup
    case .abort: return .abort
    case .runCleanupProvisioner: return .runCleanupProvisioner
    case .ask where console.options.machineReadable: return .cleanup
    case .ask:
      let console = self.console
      let readLine = self.readLine
      return .ask({ failure in
        console.error("\(failure)")
        console.message("[c] Clean up and exit, [a] abort without cleanup, or [r] retry step (build may fail even if retry succeeds)? ")
        // Ctrl-C cancels the build's task, which ends the wait: clean up as the answer "c" would.
        return Self.answer(try? await readLine({ false }))
      })
    }
  }

  /// The answer at the `-on-error=ask` prompt: "a" aborts, "r" retries, anything else
  /// (and no answer) cleans up.
  static func answer(_ line: String?) -> OnErrorPolicy.AskAnswer {
    switch line?.trimmingCharacters(in: .whitespaces).lowercased() {
    case "a": .abort
    case "r": .retry
    default: .cleanup
    }
  }
}

/// How a `BuildSession` ended.
public enum BuildSessionResult: Sendable {
  /// The template did not validate (its diagnostics say why): nothing ran.
  case invalid
  /// The template uses plugins Kiln validates but cannot run yet (named, sorted): nothing ran.
  case cannotRun([String])
  /// The builds ran; each ended as the report says.
  case ran(BuildReport)

  /// How one build ended.
  public struct Build: Sendable {
    public var name: String
    public var result: Result<[any Artifact], any Error>
    public var duration: Duration

    /// "succeeded", "failed" or "cancelled".
    public var outcome: String {
      switch result {
      case .success: "succeeded"
      case .failure(let error): error is CancellationError || error is CancelledLeavingResources ? "cancelled" : "failed"
      }
    }

    /// What the build's failure says ("build was cancelled" for a cancelled one); nil when
    /// it succeeded.
    public var errorMessage: String? {
      guard case .failure(let error) = result else { return nil }
      return error is CancellationError ? "build was cancelled" : "\(error)"
    }
  }
}

/// What the builds of a run did, in template order, and what the run leaves.
public struct BuildReport: Sendable {
  public var builds: [BuildSessionResult.Build]
  /// From the start of the first build to the end of the last.
  public var elapsed: Duration
  /// Whether a SIGINT or SIGTERM cancelled the run.
  public var interrupted: Bool
  /// What the run's ledger still held at the end.
  public var left: [String]

  /// The failed builds and their messages ("build was cancelled" for a cancelled one).
  public var errors: [(build: String, message: String)] {
    builds.compactMap { build in build.errorMessage.map { (build.name, $0) } }
  }

  /// The artifacts of the builds that succeeded.
  public var artifacts: [(build: String, artifacts: [any Artifact])] {
    builds.compactMap { build in
      guard case .success(let list) = build.result else { return nil }
      return (build.name, list)
    }
  }

  /// The cancelled builds whose cleanup did not finish.
  public var unfinishedCleanups: [String] {
    builds.compactMap { build in
      if case .failure(let error) = build.result, error is CancelledLeavingResources { return build.name }
      return nil
    }
  }

  /// Every build succeeded and nothing interrupted the run.
  public var succeeded: Bool { !interrupted && errors.isEmpty }
}
