import Synchronization

/// One step of a build, with Packer multistep's semantics: `run` does the work (throwing halts
/// the build), `cleanup` undoes it and is called for every step whose `run` was started, in
/// reverse order, on success, failure and cancellation alike.
public protocol BuildStep: Sendable {
  /// Kebab-case, for messages: "create-key-pair". Need not be unique: the runner knows a
  /// step by its place in the list.
  var name: String { get }
  func run(_ state: BuildState) async throws
  /// Undoes what `run` created, reading the ids `run` recorded in the state (it must not
  /// assume `run` finished). Runs shielded from cancellation, within the runner's deadline.
  /// A thrown error should name what is left behind (id, region); it does not stop the
  /// other cleanups.
  func cleanup(_ state: BuildState) async throws
  /// Whether its cleanup still runs under `-on-error=run-cleanup-provisioner` (the
  /// provisioning step, which runs the error-cleanup-provisioner).
  var cleansUpWhenAborting: Bool { get }
  /// The group whose cleanups may run before the run ends, when a later step says the group
  /// is no longer needed (`BuildState.releaseEarly`); nil: cleaned up at the end, in order.
  var earlyCleanup: EarlyCleanupGroup? { get }
}

extension BuildStep {
  public func cleanup(_ state: BuildState) async throws {}
  public var cleansUpWhenAborting: Bool { false }
  public var earlyCleanup: EarlyCleanupGroup? { nil }
}

/// Steps whose cleanups can run while the build goes on: the temporary key pair once the
/// instance has it, the instance and what only it used once its image's snapshots are taken.
/// The step that knows the group is no longer needed calls `BuildState.releaseEarly`, with the
/// reason the ordering is safe written next to that call.
public struct EarlyCleanupGroup: Hashable, Sendable {
  public let name: String
  public init(_ name: String) { self.name = name }
}

/// A typed key into `BuildState`: `enum InstanceID: StateKey { typealias Value = String }`.
public protocol StateKey {
  associatedtype Value: Sendable
}

/// What steps share: each value under its `StateKey` type. Thread-safe.
public final class BuildState: Sendable {
  private let storage = Mutex<[ObjectIdentifier: any Sendable]>([:])

  /// Installed by the runner for the length of a run; nil when cleanups may not run early.
  private let earlyRelease = Mutex<(@Sendable (EarlyCleanupGroup) -> Void)?>(nil)

  public init() {}

  /// Runs the cleanups of the started steps in `group`, in reverse order, in the background,
  /// while the build goes on. The run still ends only once they have finished, and their
  /// problems are reported with the others. Nothing happens when the runner does not allow it
  /// (`-debug` pauses before each cleanup, `-on-error=abort`/`ask` may keep what a failure
  /// leaves) or outside a run; the cleanups then run at the end, as usual.
  public func releaseEarly(_ group: EarlyCleanupGroup) {
    let release = earlyRelease.withLock { $0 }
    release?(group)
  }

  func installEarlyRelease(_ release: (@Sendable (EarlyCleanupGroup) -> Void)?) {
    earlyRelease.withLock { $0 = release }
  }

  public subscript<Key: StateKey>(_ key: Key.Type) -> Key.Value? {
    get { storage.withLock { $0[ObjectIdentifier(key)] as? Key.Value } }
    set { storage.withLock { $0[ObjectIdentifier(key)] = newValue } }
  }

  /// Changes a value in place, atomically (parallel region copies adding to one map).
  public func update<Key: StateKey, Result>(_ key: Key.Type, default initial: Key.Value, _ body: (inout Key.Value) -> Result) -> Result {
    storage.withLock { storage in
      var value = storage[ObjectIdentifier(key)] as? Key.Value ?? initial
      let result = body(&value)
      storage[ObjectIdentifier(key)] = value
      return result
    }
  }

  /// Appends to a list value atomically (resource ids created one by one).
  public func append<Key: StateKey, Element: Sendable>(_ key: Key.Type, _ element: Element) where Key.Value == [Element] {
    storage.withLock { storage in
      var list = storage[ObjectIdentifier(key)] as? [Element] ?? []
      list.append(element)
      storage[ObjectIdentifier(key)] = list
    }
  }
}

/// Thrown by a step that finds the build's work already done (`-skip-unchanged`): the run
/// ends as a success without the steps after it, and the started ones are cleaned up.
public struct StopSteps: Error, Sendable {
  public init() {}
}

/// Set before the cleanups when a step failed (not when the run was cancelled): Packer's
/// "error" in the state bag, which the provisioning step's cleanup reads.
public enum StepRunFailed: StateKey { public typealias Value = Bool }

/// A step that failed: which one, and why. Its description is what the user reads.
public struct StepFailure: Error, CustomStringConvertible, Sendable {
  public var step: String
  public var underlying: any Error

  public var description: String { "step \(step) failed: \(underlying)" }
}

/// Packer's `-on-error` modes.
public enum OnErrorPolicy: Sendable {
  /// Clean up every started step (the default).
  case cleanup
  /// After a failure or an interrupt, leave everything for inspection.
  case abort
  /// Like `abort`, but still run the cleanup of steps that `cleansUpWhenAborting`.
  case runCleanupProvisioner
  /// Ask what to do after a failure: clean up, abort, or retry the step.
  case ask(@Sendable (StepFailure) async -> AskAnswer)

  public enum AskAnswer: Sendable { case cleanup, abort, retry }
}

/// Pauses of `-debug`: after each step runs and before each cleanup.
public protocol StepHooks: Sendable {
  func afterRun(_ step: any BuildStep) async throws
  func beforeCleanup(_ step: any BuildStep) async
}

/// How a run ended, with everything the summary needs.
public struct StepRunOutcome: Sendable {
  public enum Ending: Sendable {
    case succeeded
    case failed(StepFailure)
    case cancelled(atStep: String?)
  }

  public var ending: Ending
  /// Cleanups that failed or ran out of time: step name and the error (naming the leftover).
  public var cleanupProblems: [(step: String, problem: String)]
  /// Steps whose cleanup was skipped on purpose (`-on-error=abort`), in cleanup order.
  public var skippedCleanups: [String]

  public var succeeded: Bool {
    if case .succeeded = ending { return true }
    return false
  }
}

/// Runs steps in order and cleans up the started ones in reverse.
///
/// - A step is recorded as started before its `run` begins, so a step that fails or is
///   interrupted half-way still gets its cleanup.
/// - Cancellation is task cancellation: the runner checks between steps, and steps' I/O
///   (curl, libssh2, sleeps) stops when the task is cancelled.
/// - Cleanups run in an unstructured task, so a cancelled build still cleans up (the Swift
///   twin of Packer's `context.Background()` in cleanup), each bounded by `cleanupDeadline`.
public struct StepRunner: Sendable {
  public var steps: [any BuildStep]
  public var onError: OnErrorPolicy
  public var hooks: (any StepHooks)?
  public var cleanupDeadline: Duration
  /// Told about each cleanup as it starts ("cleaning up create-key-pair"), for the UI.
  public var onCleanup: (@Sendable (String) -> Void)?
  /// Hears `step-start`/`step-end` and `cleanup-start`/`cleanup-end` (for `-events`).
  public var events: (any BuildUI)?

  public init(
    steps: [any BuildStep], onError: OnErrorPolicy = .cleanup, hooks: (any StepHooks)? = nil, cleanupDeadline: Duration = .seconds(600),
    onCleanup: (@Sendable (String) -> Void)? = nil, events: (any BuildUI)? = nil
  ) {
    self.steps = steps
    self.onError = onError
    self.hooks = hooks
    self.cleanupDeadline = cleanupDeadline
    self.onCleanup = onCleanup
    self.events = events
  }

  public func run(_ state: BuildState) async -> StepRunOutcome {
    // Started steps by their place in the list, not their name: two steps may share a name,
    // and each needs its cleanup. A retried step keeps its place, so it is cleaned up once.
    let early = EarlyCleanups(steps: steps, deadline: cleanupDeadline, onCleanup: onCleanup, events: events)
    var started: [Int] = [] {
      didSet { early.started(started) }
    }
    if case .cleanup = onError, hooks == nil {
      state.installEarlyRelease { group in early.release(group, state) }
    }
    defer { state.installEarlyRelease(nil) }
    var ending = StepRunOutcome.Ending.succeeded
    var index = 0
    stepping: while index < steps.count {
      let step = steps[index]
      if Task.isCancelled {
        ending = .cancelled(atStep: nil)
        break
      }
      if started.last != index { started.append(index) }
      let began = ContinuousClock.now
      events?.event("step-start", ["step": .string(step.name)])
      func ended(_ outcome: String, _ error: (any Error)? = nil) {
        var fields: [String: EventStream.Value] = [
          "step": .string(step.name), "outcome": .string(outcome), "seconds": .double((ContinuousClock.now - began).inSeconds),
        ]
        if let error { fields["error"] = .string("\(error)") }
        events?.event("step-end", fields)
      }
      do {
        try await step.run(state)
        if Task.isCancelled {
          ended("cancelled")
          ending = .cancelled(atStep: step.name)
          break
        }
        ended("succeeded")
        try await hooks?.afterRun(step)
        index += 1
      } catch is StopSteps {
        ended("succeeded")
        break
      } catch {
        if error is CancellationError || Task.isCancelled {
          ended("cancelled")
          ending = .cancelled(atStep: step.name)
          break
        }
        ended("failed", error)
        let failure = StepFailure(step: step.name, underlying: error)
        if case .ask(let ask) = onError {
          switch await ask(failure) {
          case .retry: continue stepping
          case .abort: return await finish(.failed(failure), started, state, policy: .abort, early: early)
          case .cleanup: return await finish(.failed(failure), started, state, policy: .cleanup, early: early)
          }
        }
        ending = .failed(failure)
        break
      }
    }
    return await finish(ending, started, state, policy: onError, early: early)
  }

  /// `started`: the indices of the started steps, in the order they started.
  private func finish(
    _ ending: StepRunOutcome.Ending, _ started: [Int], _ state: BuildState, policy: OnErrorPolicy, early: EarlyCleanups
  ) async -> StepRunOutcome {
    let failedOrCancelled: Bool
    if case .succeeded = ending { failedOrCancelled = false } else { failedOrCancelled = true }
    if case .failed = ending { state[StepRunFailed.self] = true }
    // From here on every cleanup runs in order; those already released early are awaited,
    // so their waits are on the critical path now.
    state.installEarlyRelease(nil)
    early.urgency.becomeUrgent()
    let released = early.released
    var toClean: [any BuildStep] = []
    var skipped: [String] = []
    for step in started.reversed().filter({ !released.contains($0) }).map({ steps[$0] }) {
      switch policy {
      case .abort where failedOrCancelled:
        skipped.append(step.name)
      case .runCleanupProvisioner where failedOrCancelled && !step.cleansUpWhenAborting:
        skipped.append(step.name)
      default:
        toClean.append(step)
      }
    }
    var problems = await Self.cleanUp(toClean, state, deadline: cleanupDeadline, hooks: hooks, onCleanup: onCleanup, events: events)
    problems += await early.finished()
    return StepRunOutcome(ending: ending, cleanupProblems: problems, skippedCleanups: skipped)
  }

  /// Runs the cleanups one after another in a detached task, which a cancelled build does
  /// not cancel (awaiting its value waits for it whatever happens to the waiter).
  ///
  /// Each cleanup runs in a detached task of its own, raced against the deadline. When the
  /// deadline passes first, the cleanup is cancelled and no longer waited for: a task group
  /// would wait for its child anyway, so a cleanup that ignores cancellation (a blocking
  /// call, a sleep in a shielded task) would hold the build forever. The step is reported as
  /// `CleanupTimedOut` (what it was removing may be left) and the next cleanup starts while
  /// that one may still be running.
  ///
  /// `urgency`: for early cleanups, what their waits read as `WaitUrgency.current`.
  static func cleanUp(
    _ steps: [any BuildStep], _ state: BuildState, deadline: Duration, hooks: (any StepHooks)?,
    onCleanup: (@Sendable (String) -> Void)?, events: (any BuildUI)? = nil, urgency: WaitUrgency? = nil
  ) async -> [(step: String, problem: String)] {
    guard !steps.isEmpty else { return [] }
    let cleanups = Task.detached { () async -> [(step: String, problem: String)] in
      var problems: [(step: String, problem: String)] = []
      for step in steps {
        await hooks?.beforeCleanup(step)
        onCleanup?(step.name)
        events?.event("cleanup-start", ["step": .string(step.name)])
        let cleanup = Task.detached { try await WaitUrgency.$current.withValue(urgency) { try await step.cleanup(state) } }
        let outcome = await FirstOf.race(cleanup, deadline: deadline)
        var problem: String?
        switch outcome {
        case .finished(.success):
          break
        case .finished(.failure(let error)):
          problem = "\(error)"
        case .deadlinePassed:
          cleanup.cancel()
          problem = "\(CleanupTimedOut(deadline: deadline))"
        }
        if let problem {
          problems.append((step.name, problem))
          events?.event("cleanup-end", ["step": .string(step.name), "outcome": .string("failed"), "error": .string(problem)])
        } else {
          events?.event("cleanup-end", ["step": .string(step.name), "outcome": .string("succeeded")])
        }
      }
      return problems
    }
    return await cleanups.value
  }
}

/// The cleanups a run started early (`BuildState.releaseEarly`): which steps they cover, and
/// the detached tasks running them, which no cancellation of the build reaches. Their waits
/// are in the background (`urgency`) until the run finishes.
final class EarlyCleanups: Sendable {
  private struct State {
    var started: [Int] = []
    var released: Set<Int> = []
    var tasks: [Task<[(step: String, problem: String)], Never>] = []
  }

  private let steps: [any BuildStep]
  private let deadline: Duration
  private let onCleanup: (@Sendable (String) -> Void)?
  private let events: (any BuildUI)?
  private let state = Mutex(State())
  let urgency = WaitUrgency()

  init(steps: [any BuildStep], deadline: Duration, onCleanup: (@Sendable (String) -> Void)?, events: (any BuildUI)?) {
    self.steps = steps
    self.deadline = deadline
    self.onCleanup = onCleanup
    self.events = events
  }

  func started(_ indices: [Int]) { state.withLock { $0.started = indices } }

  var released: Set<Int> { state.withLock { $0.released } }

  /// Starts the cleanups of the started, not yet released steps of `group`, last started first.
  func release(_ group: EarlyCleanupGroup, _ buildState: BuildState) {
    state.withLock { state in
      let chosen = state.started.reversed().filter { steps[$0].earlyCleanup == group && !state.released.contains($0) }
      guard !chosen.isEmpty else { return }
      state.released.formUnion(chosen)
      let selected = chosen.map { steps[$0] }
      let (deadline, onCleanup, events, urgency) = (self.deadline, self.onCleanup, self.events, self.urgency)
      state.tasks.append(
        Task.detached {
          await StepRunner.cleanUp(selected, buildState, deadline: deadline, hooks: nil, onCleanup: onCleanup, events: events, urgency: urgency)
        })
    }
  }

  /// Waits for every early cleanup; their problems.
  func finished() async -> [(step: String, problem: String)] {
    var problems: [(step: String, problem: String)] = []
    for task in state.withLock({ $0.tasks }) { problems += await task.value }
    return problems
  }
}

/// Waits for a task or a deadline, whichever comes first, and stops waiting for the other.
enum FirstOf {
  enum Outcome: Sendable {
    case finished(Result<Void, any Error>)
    case deadlinePassed
  }

  static func race(_ task: Task<Void, any Error>, deadline: Duration) async -> Outcome {
    let waiter = Waiter()
    return await withCheckedContinuation { continuation in
      waiter.set(continuation)
      // A cancelled timer must not settle: its sleep ends at once when cancelled, and it
      // could settle "deadline passed" before the finished task does (a cleanup that had
      // finished was once reported as timed out that way).
      let timer = Task.detached {
        do { try await Task.sleep(for: deadline) } catch { return }
        waiter.settle(.deadlinePassed)
      }
      Task.detached {
        let result = await task.result
        waiter.settle(.finished(result))
        timer.cancel()
      }
    }
  }

  /// The continuation, resumed by whichever side settles first.
  private final class Waiter: Sendable {
    private let continuation = Mutex<CheckedContinuation<Outcome, Never>?>(nil)

    func set(_ value: CheckedContinuation<Outcome, Never>) { continuation.withLock { $0 = value } }

    func settle(_ outcome: Outcome) {
      continuation.withLock { continuation in
        continuation?.resume(returning: outcome)
        continuation = nil
      }
    }
  }
}

/// A cleanup that did not finish within the runner's deadline.
public struct CleanupTimedOut: Error, CustomStringConvertible, Sendable {
  public var deadline: Duration
  public var description: String {
    "cleanup did not finish within \(deadline.components.seconds)s and was left running; what it was removing may have been left behind"
  }
}
