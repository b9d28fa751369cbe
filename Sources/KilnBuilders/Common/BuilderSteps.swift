import KilnCore

/// How a builder runs its step list, the same for every builder: the build's `-on-error`
/// policy, `-debug` pauses and log around `StepRunner`, then what the user must hear about
/// the cleanup, then the outcome as the builder's result.
enum BuilderSteps {
  /// Runs `steps` on `state` and reports the cleanups skipped (`-on-error=abort`), the ones
  /// that failed, and the resources still live. Returns when the steps succeeded (the builder
  /// then reads its artifact from `state`).
  ///
  /// - Parameters:
  ///   - leftovers: for a builder that creates resources: where they live, for the message
  ///     ("AWS (tagged kiln:run=…)"), and the ones not yet removed, asked once every cleanup
  ///     has run.
  /// - Throws: the failed step's own error; on cancellation `CancellationError` when nothing
  ///   is left, else `CancelledLeavingResources` naming what is.
  static func run(
    _ steps: [any BuildStep], _ state: BuildState, context: BuildContext,
    leftovers: (place: String, outstanding: () -> [String])? = nil
  ) async throws {
    let log = context.log
    let runner = StepRunner(
      steps: steps, onError: context.onError, hooks: context.stepHooks, onCleanup: { step in log?.log("cleanup of step \(step)") }, events: context.ui
    )
    let outcome = await runner.run(state)
    for skipped in outcome.skippedCleanups { context.ui.error("aborted: skipping cleanup of step \"\(skipped)\"") }
    for (step, problem) in outcome.cleanupProblems { context.ui.error("cleanup of step \"\(step)\" failed: \(problem)") }
    let left = leftovers?.outstanding() ?? []
    if let place = leftovers?.place, !left.isEmpty {
      context.ui.error("left in \(place): \(left.joined(separator: ", "))")
      context.ui.machine("resources-left", left)
    }
    switch outcome.ending {
    case .succeeded:
      return
    case .failed(let failure):
      throw failure.underlying
    case .cancelled:
      throw outcome.cancellationError(left: left)
    }
  }
}
