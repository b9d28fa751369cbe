import KilnCore

/// `-debug`: waits for Enter after each step and before each cleanup (Packer's DebugRunner).
/// Ctrl-C ends a pause (the build's task is cancelled), and an interrupted build cleans up
/// without pausing: cleanups run in a task the interrupt does not cancel, so a pause there
/// watches `interrupted` itself.
struct DebugPauses: StepHooks {
  let ui: any BuildUI
  let interrupted: @Sendable () -> Bool
  let readLine: BuildSession.ReadLine

  func afterRun(_ step: any BuildStep) async throws {
    ui.say("Pausing after run of step '\(step.name)'. Press enter to continue.")
    _ = try await readLine(interrupted)
  }

  func beforeCleanup(_ step: any BuildStep) async {
    guard !interrupted() else { return }
    ui.say("Pausing before cleanup of step '\(step.name)'. Press enter to continue.")
    _ = try? await readLine(interrupted)
  }
}
