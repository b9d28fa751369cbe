import KilnCore
import Synchronization
import Testing

/// Records what steps did, in order.
final class Journal: Sendable {
  let events = Mutex<[String]>([])
  func log(_ event: String) { events.withLock { $0.append(event) } }
  var all: [String] { events.withLock { $0 } }
}

enum CreatedIDs: StateKey { typealias Value = [String] }

struct RecordingStep: BuildStep {
  enum Behaviour: Sendable { case succeed, fail, waitForCancellation, cancelTheBuild }
  let name: String
  let journal: Journal
  var behaviour: Behaviour = .succeed
  var cleanupBehaviour: CleanupBehaviour = .succeed
  var cleansUpWhenAborting = false
  var cancel: (@Sendable () -> Void)? = nil

  enum CleanupBehaviour: Sendable { case succeed, fail, hang, sleepBriefly, ignoreCancellation }

  struct Boom: Error, CustomStringConvertible { var description: String { "boom" } }

  func run(_ state: BuildState) async throws {
    journal.log("run \(name)")
    state.append(CreatedIDs.self, name)
    switch behaviour {
    case .succeed: return
    case .fail: throw Boom()
    case .waitForCancellation:
      try await Task.sleep(for: .seconds(3600))
    case .cancelTheBuild:
      cancel?()
    }
  }

  func cleanup(_ state: BuildState) async throws {
    switch cleanupBehaviour {
    case .succeed: break
    case .fail: throw CleanupFailed(resource: "resource-of-\(name)")
    case .hang: try await Task.sleep(for: .seconds(3600))
    case .ignoreCancellation:
      // A wait cancellation cannot reach (as a blocking call would be), bounded so that a
      // runner which waits for it anyway fails the test instead of hanging it.
      await Task.detached { try? await Task.sleep(for: .seconds(20)) }.value
    case .sleepBriefly:
      // Would throw if the cleanup inherited the build's cancellation.
      try await Task.sleep(for: .milliseconds(20))
    }
    journal.log("cleanup \(name)")
  }

  struct CleanupFailed: Error, CustomStringConvertible {
    var resource: String
    var description: String { "could not delete \(resource); delete it manually" }
  }
}

@Suite struct StepRunnerTests {
  func steps(_ journal: Journal, count: Int = 4) -> [RecordingStep] {
    (1...count).map { RecordingStep(name: "step-\($0)", journal: journal) }
  }

  @Test func successCleansUpEveryStepInReverse() async {
    let journal = Journal()
    let state = BuildState()
    let outcome = await StepRunner(steps: steps(journal)).run(state)
    #expect(outcome.succeeded)
    #expect(
      journal.all == ["run step-1", "run step-2", "run step-3", "run step-4", "cleanup step-4", "cleanup step-3", "cleanup step-2", "cleanup step-1"])
    #expect(state[CreatedIDs.self] == ["step-1", "step-2", "step-3", "step-4"])
  }

  @Test(arguments: 1...4)
  func failureAtStepKCleansUpStepsOneToKIncludingTheFailedOne(k: Int) async {
    let journal = Journal()
    var list = steps(journal)
    list[k - 1].behaviour = .fail
    let outcome = await StepRunner(steps: list).run(BuildState())
    guard case .failed(let failure) = outcome.ending else {
      Issue.record("expected a failure")
      return
    }
    #expect(failure.step == "step-\(k)")
    #expect(failure.description == "step step-\(k) failed: boom")
    let runs = (1...k).map { "run step-\($0)" }
    let cleanups = (1...k).reversed().map { "cleanup step-\($0)" }
    #expect(journal.all == runs + cleanups)
  }

  @Test(arguments: 1...4)
  func cancellationAtStepKStopsThereAndStillCleansUp(k: Int) async throws {
    let journal = Journal()
    var list = steps(journal)
    list[k - 1].behaviour = .waitForCancellation
    for index in list.indices { list[index].cleanupBehaviour = .sleepBriefly }
    let runner = StepRunner(steps: list)
    let task = Task { await runner.run(BuildState()) }
    while !journal.all.contains("run step-\(k)") { try await Task.sleep(for: .milliseconds(5)) }
    task.cancel()
    let outcome = await task.value
    guard case .cancelled(let at) = outcome.ending else {
      Issue.record("expected a cancellation, got \(outcome.ending)")
      return
    }
    #expect(at == "step-\(k)")
    #expect(outcome.cleanupProblems.isEmpty, "cleanups ran uncancelled: \(outcome.cleanupProblems)")
    #expect(journal.all == (1...k).map { "run step-\($0)" } + (1...k).reversed().map { "cleanup step-\($0)" })
  }

  @Test func cancellationBetweenStepsRunsNoFurtherStep() async {
    let journal = Journal()
    let task = Mutex<Task<StepRunOutcome, Never>?>(nil)
    var list = steps(journal)
    list[1].behaviour = .cancelTheBuild
    list[1].cancel = { task.withLock { $0?.cancel() } }
    let runner = StepRunner(steps: list)
    let started = Task { await runner.run(BuildState()) }
    task.withLock { $0 = started }
    let outcome = await started.value
    if case .cancelled = outcome.ending {} else { Issue.record("expected a cancellation") }
    #expect(!journal.all.contains("run step-3"))
    #expect(journal.all.suffix(2) == ["cleanup step-2", "cleanup step-1"])
  }

  @Test func aFailedCleanupNamesTheLeftoverAndTheOthersStillRun() async {
    let journal = Journal()
    var list = steps(journal, count: 3)
    list[1].cleanupBehaviour = .fail
    let outcome = await StepRunner(steps: list).run(BuildState())
    #expect(outcome.succeeded)
    #expect(outcome.cleanupProblems.map(\.step) == ["step-2"])
    #expect(outcome.cleanupProblems.first?.problem == "could not delete resource-of-step-2; delete it manually")
    #expect(journal.all.suffix(2) == ["cleanup step-3", "cleanup step-1"])
  }

  /// A cleanup that finishes is never reported as timed out. The deadline's timer, cancelled
  /// when the cleanup finished, once settled the race itself ("did not finish within 600s"
  /// for a key pair deleted at once): many quick cleanups, none may be reported.
  @Test func aCleanupThatFinishesIsNeverReportedAsTimedOut() async {
    let problems = await withTaskGroup(of: [(step: String, problem: String)].self) { group in
      for _ in 0..<8 {
        group.addTask {
          var problems: [(step: String, problem: String)] = []
          for _ in 0..<250 {
            problems += await StepRunner(steps: self.steps(Journal(), count: 5)).run(BuildState()).cleanupProblems
          }
          return problems
        }
      }
      return await group.reduce(into: []) { $0 += $1 }
    }
    #expect(problems.isEmpty, "\(problems.count) finished cleanups reported as problems, the first: \(problems.first.map { "\($0)" } ?? "")")
  }

  @Test func aHungCleanupIsCutOffAtTheDeadline() async {
    let journal = Journal()
    var list = steps(journal, count: 3)
    list[1].cleanupBehaviour = .hang
    let outcome = await StepRunner(steps: list, cleanupDeadline: .milliseconds(100)).run(BuildState())
    #expect(outcome.cleanupProblems.map(\.step) == ["step-2"])
    #expect(outcome.cleanupProblems.first?.problem.contains("did not finish within") == true)
    #expect(journal.all.contains("cleanup step-1"))
  }

  @Test func aCleanupThatIgnoresCancellationIsLeftRunningAtTheDeadline() async {
    let journal = Journal()
    var list = steps(journal, count: 3)
    list[1].cleanupBehaviour = .ignoreCancellation
    let outcome = await StepRunner(steps: list, cleanupDeadline: .milliseconds(200)).run(BuildState())
    #expect(outcome.cleanupProblems.map(\.step) == ["step-2"])
    #expect(outcome.cleanupProblems.first?.problem.contains("left running") == true)
    #expect(outcome.cleanupProblems.first?.problem.contains("may have been left behind") == true)
    // The runner moved on while step-2's cleanup was still running: it never finished.
    #expect(journal.all.suffix(2) == ["cleanup step-3", "cleanup step-1"])
    #expect(!journal.all.contains("cleanup step-2"))
  }

  @Test func abortLeavesEverythingAfterAFailure() async {
    let journal = Journal()
    var list = steps(journal)
    list[2].behaviour = .fail
    let outcome = await StepRunner(steps: list, onError: .abort).run(BuildState())
    #expect(journal.all == ["run step-1", "run step-2", "run step-3"])
    #expect(outcome.skippedCleanups == ["step-3", "step-2", "step-1"])
  }

  @Test func abortStillCleansUpAfterSuccess() async {
    let journal = Journal()
    let outcome = await StepRunner(steps: steps(journal, count: 2), onError: .abort).run(BuildState())
    #expect(outcome.skippedCleanups.isEmpty)
    #expect(journal.all.suffix(2) == ["cleanup step-2", "cleanup step-1"])
  }

  @Test func runCleanupProvisionerKeepsOnlyThatCleanup() async {
    let journal = Journal()
    var list = steps(journal)
    list[1].cleansUpWhenAborting = true
    list[3].behaviour = .fail
    let outcome = await StepRunner(steps: list, onError: .runCleanupProvisioner).run(BuildState())
    #expect(journal.all.filter { $0.hasPrefix("cleanup") } == ["cleanup step-2"])
    #expect(outcome.skippedCleanups == ["step-4", "step-3", "step-1"])
  }

  @Test func askCanRetryTheFailedStep() async {
    let journal = Journal()
    struct Flaky: BuildStep {
      let name = "flaky"
      let journal: Journal
      func run(_ state: BuildState) async throws {
        journal.log("run flaky")
        if journal.all.filter({ $0 == "run flaky" }).count < 3 { throw RecordingStep.Boom() }
      }
      func cleanup(_ state: BuildState) async throws { journal.log("cleanup flaky") }
    }
    let list: [any BuildStep] = [RecordingStep(name: "first", journal: journal), Flaky(journal: journal)]
    let asked = Mutex(0)
    let outcome = await StepRunner(
      steps: list,
      onError: .ask({ _ in
        asked.withLock { $0 += 1 }
        return .retry
      })
    ).run(BuildState())
    #expect(outcome.succeeded)
    #expect(asked.withLock { $0 } == 2)
    #expect(journal.all == ["run first", "run flaky", "run flaky", "run flaky", "cleanup flaky", "cleanup first"])
  }

  @Test func twoStepsWithOneNameEachGetTheirCleanup() async {
    // A step is known by its place in the list, not its name: the second "upload" is its
    // own step, and what it made needs its own cleanup.
    struct Upload: BuildStep {
      let name = "upload"
      let file: String
      let journal: Journal
      func run(_ state: BuildState) async throws { journal.log("run \(name) \(file)") }
      func cleanup(_ state: BuildState) async throws { journal.log("cleanup \(name) \(file)") }
    }
    let journal = Journal()
    let list: [any BuildStep] = [Upload(file: "a", journal: journal), Upload(file: "b", journal: journal)]
    let outcome = await StepRunner(steps: list).run(BuildState())
    #expect(outcome.succeeded)
    #expect(journal.all == ["run upload a", "run upload b", "cleanup upload b", "cleanup upload a"])
  }

  @Test func twoStepsWithOneNameEachGetTheirCleanupAfterAFailure() async {
    let journal = Journal()
    var list = [RecordingStep(name: "same", journal: journal), RecordingStep(name: "same", journal: journal)]
    list[1].behaviour = .fail
    list[1].cleanupBehaviour = .fail
    let outcome = await StepRunner(steps: list).run(BuildState())
    if case .failed = outcome.ending {} else { Issue.record("expected a failure, got \(outcome.ending)") }
    // The failed second step's cleanup ran (and reported its leftover); the first's too.
    #expect(outcome.cleanupProblems.map(\.step) == ["same"])
    #expect(journal.all == ["run same", "run same", "cleanup same"])
  }

  @Test func debugHooksPauseAfterEachRunAndBeforeEachCleanup() async {
    struct Hooks: StepHooks {
      let journal: Journal
      func afterRun(_ step: any BuildStep) async throws { journal.log("paused after \(step.name)") }
      func beforeCleanup(_ step: any BuildStep) async { journal.log("paused before cleanup of \(step.name)") }
    }
    let journal = Journal()
    _ = await StepRunner(steps: steps(journal, count: 2), hooks: Hooks(journal: journal)).run(BuildState())
    #expect(
      journal.all == [
        "run step-1", "paused after step-1", "run step-2", "paused after step-2",
        "paused before cleanup of step-2", "cleanup step-2", "paused before cleanup of step-1", "cleanup step-1",
      ])
  }
}

@Suite struct ResourceJournalTests {
  @Test func recordsAndSettles() {
    let journal = ResourceJournal()
    let owner = ResourceJournal.Owner(build: "b", plugin: "amazon-ebs")
    let a = journal.record("instance i-1 in us-east-1", by: owner)
    journal.record("key pair kiln_1 in us-east-1", by: owner)
    #expect(journal.outstanding == ["instance i-1 in us-east-1", "key pair kiln_1 in us-east-1"])
    journal.settle(a)
    #expect(journal.outstanding == ["key pair kiln_1 in us-east-1"])
  }
}
