import KilnCore
import Synchronization
import Testing

/// `BuildState.releaseEarly`: the cleanups of a group of started steps run while a later step
/// is still running, each exactly once, and the run still ends only after them (issue #15
/// item 3: the instance terminated while its AMI is pending).
@Suite struct EarlyCleanupTests {
  static let machine = EarlyCleanupGroup("machine")

  /// A step of `group` that records its run and cleanup, like `RecordingStep`.
  struct Member: BuildStep {
    let name: String
    let journal: Journal
    var earlyCleanup: EarlyCleanupGroup? = EarlyCleanupTests.machine
    var failsCleanup = false

    func run(_ state: BuildState) async throws { journal.log("run \(name)") }

    func cleanup(_ state: BuildState) async throws {
      // Would throw if the cleanup inherited the build's cancellation.
      try await Task.sleep(for: .milliseconds(20))
      if failsCleanup { throw RecordingStep.CleanupFailed(resource: "resource-of-\(name)") }
      journal.log("cleanup \(name)")
    }
  }

  /// Releases the group, then waits (up to 20 s) until the journal shows `expected` cleanups
  /// before it ends: proof that they ran while it was still running. Then does `then`.
  struct Releaser: BuildStep {
    enum Then: Sendable { case succeed, fail, waitForCancellation }
    let name = "releaser"
    let journal: Journal
    var expected = 2
    var then: Then = .succeed

    func run(_ state: BuildState) async throws {
      journal.log("run releaser")
      state.releaseEarly(EarlyCleanupTests.machine)
      for _ in 0..<2000 {
        if journal.all.filter({ $0.hasPrefix("cleanup ") }).count >= expected { break }
        try await Task.sleep(for: .milliseconds(10))
      }
      journal.log("releaser saw \(journal.all.filter { $0.hasPrefix("cleanup ") }.count) cleanups")
      switch then {
      case .succeed: return
      case .fail: throw RecordingStep.Boom()
      case .waitForCancellation: try await Task.sleep(for: .seconds(3600))
      }
    }

    func cleanup(_ state: BuildState) async throws { journal.log("cleanup releaser") }
  }

  func list(_ journal: Journal, then: Releaser.Then = .succeed, expected: Int = 2) -> [any BuildStep] {
    [
      RecordingStep(name: "outside", journal: journal), Member(name: "a", journal: journal), Member(name: "b", journal: journal),
      Releaser(journal: journal, expected: expected, then: then),
    ]
  }

  @Test func aReleasedGroupIsCleanedUpInReverseWhileTheBuildGoesOnAndOnlyOnce() async {
    let journal = Journal()
    let outcome = await StepRunner(steps: list(journal)).run(BuildState())
    #expect(outcome.succeeded)
    #expect(outcome.cleanupProblems.isEmpty)
    #expect(
      journal.all == [
        "run outside", "run a", "run b", "run releaser", "cleanup b", "cleanup a", "releaser saw 2 cleanups", "cleanup releaser",
        "cleanup outside",
      ])
  }

  @Test func aFailureAfterTheReleaseCleansEachStepOnce() async {
    let journal = Journal()
    let outcome = await StepRunner(steps: list(journal, then: .fail)).run(BuildState())
    guard case .failed(let failure) = outcome.ending else {
      Issue.record("expected a failure, got \(outcome.ending)")
      return
    }
    #expect(failure.step == "releaser")
    let cleanups = journal.all.filter { $0.hasPrefix("cleanup ") }
    #expect(cleanups.sorted() == ["cleanup a", "cleanup b", "cleanup outside", "cleanup releaser"])
    #expect(journal.all.firstIndex(of: "cleanup b")! < journal.all.firstIndex(of: "releaser saw 2 cleanups")!)
  }

  @Test func aCancelledBuildStillWaitsForTheEarlyCleanups() async {
    let journal = Journal()
    let state = BuildState()
    let runner = StepRunner(steps: list(journal, then: .waitForCancellation))
    let build = Task { await runner.run(state) }
    for _ in 0..<2000 where !journal.all.contains("releaser saw 2 cleanups") {
      try? await Task.sleep(for: .milliseconds(10))
    }
    build.cancel()
    let outcome = await build.value
    guard case .cancelled = outcome.ending else {
      Issue.record("expected a cancellation, got \(outcome.ending)")
      return
    }
    #expect(journal.all.filter { $0.hasPrefix("cleanup ") }.sorted() == ["cleanup a", "cleanup b", "cleanup outside", "cleanup releaser"])
  }

  @Test func aFailedEarlyCleanupIsReportedWithTheOthers() async {
    let journal = Journal()
    var steps = list(journal, expected: 1)
    steps[1] = Member(name: "a", journal: journal, failsCleanup: true)
    let outcome = await StepRunner(steps: steps).run(BuildState())
    #expect(outcome.succeeded)
    #expect(outcome.cleanupProblems.map(\.step) == ["a"])
    #expect(outcome.cleanupProblems.first?.problem.contains("resource-of-a") == true)
    #expect(!journal.all.contains("cleanup a"))
  }

  /// `-on-error=abort` may keep what a failure leaves, and `-debug` pauses before each cleanup:
  /// neither lets a cleanup run early; they all run at the end, in order.
  @Test func abortAndDebugKeepTheUsualOrder() async {
    struct NoPauses: StepHooks {
      func afterRun(_ step: any BuildStep) async throws {}
      func beforeCleanup(_ step: any BuildStep) async {}
    }
    for runner in [
      StepRunner(steps: [], onError: .abort), StepRunner(steps: [], hooks: NoPauses()),
    ] {
      let journal = Journal()
      var configured = runner
      configured.steps = list(journal, expected: 0)
      let outcome = await configured.run(BuildState())
      #expect(outcome.succeeded)
      #expect(
        journal.all == [
          "run outside", "run a", "run b", "run releaser", "releaser saw 0 cleanups", "cleanup releaser", "cleanup b", "cleanup a",
          "cleanup outside",
        ])
    }
  }

  /// A member whose cleanup waits as a termination does: it notes its urgency, then sleeps an
  /// hour through `WaitUrgency`, which the end of the run cuts short.
  struct Background: BuildStep {
    let name = "background"
    let journal: Journal
    var earlyCleanup: EarlyCleanupGroup? = EarlyCleanupTests.machine

    func run(_ state: BuildState) async throws {}

    func cleanup(_ state: BuildState) async throws {
      guard let urgency = WaitUrgency.current else {
        journal.log("background: no urgency")
        return
      }
      journal.log("background starts, urgent: \(urgency.isUrgent)")
      try await urgency.sleep(for: .seconds(3600))
      journal.log("background wakes, urgent: \(urgency.isUrgent)")
    }
  }

  /// An ordinary step whose cleanup notes the urgency it sees.
  struct Ordinary: BuildStep {
    let name = "ordinary"
    let journal: Journal
    func run(_ state: BuildState) async throws {}
    func cleanup(_ state: BuildState) async throws { journal.log("ordinary cleanup sees \(WaitUrgency.current == nil ? "none" : "one")") }
  }

  /// Releases the group, waits for the background cleanup to start, and ends.
  struct Starter: BuildStep {
    let name = "starter"
    let journal: Journal
    func run(_ state: BuildState) async throws {
      state.releaseEarly(EarlyCleanupTests.machine)
      while !journal.all.contains(where: { $0.hasPrefix("background starts") }) { try await Task.sleep(for: .milliseconds(10)) }
      journal.log("starter ends")
    }
  }

  /// Issue #15: an early cleanup's waits are in the background while the build goes on, and
  /// urgent once the run has only cleanups left: an hour's pause ends then, not an hour later.
  @Test(.timeLimit(.minutes(2))) func anEarlyCleanupWaitsInTheBackgroundUntilTheRunEnds() async {
    let journal = Journal()
    let outcome = await StepRunner(steps: [Ordinary(journal: journal), Background(journal: journal), Starter(journal: journal)]).run(BuildState())
    #expect(outcome.succeeded)
    #expect(outcome.cleanupProblems.isEmpty, "\(outcome.cleanupProblems)")
    let all = journal.all
    #expect(Array(all.prefix(2)) == ["background starts, urgent: false", "starter ends"])
    #expect(all.contains("background wakes, urgent: true"), "\(all)")
    #expect(all.contains("ordinary cleanup sees none"), "\(all)")
    #expect(all.count == 4, "\(all)")
  }
}
