import Synchronization

/// Whether anything is waiting for the current work to finish yet.
///
/// Early cleanups (`BuildState.releaseEarly`) run in the background: the instance terminates
/// while EC2 takes minutes to make the image. Seeing the termination the second it happens
/// gains nothing then, and a wait polling as for the critical path makes most of a build's
/// calls. So the runner gives each early cleanup an urgency that stays `false` while the build
/// goes on, and becomes `true` once the run has nothing left but its cleanups. A waiter that
/// finds `current` not urgent polls at its longest pause, and `sleep` wakes the moment the
/// work becomes urgent, so a wait that outlasts the build still ends at its usual pace.
/// `current` is nil everywhere else (steps, ordinary cleanups, `kiln sweep`): urgent.
public final class WaitUrgency: Sendable {
  /// The urgency of the work this task does for the runner; nil: urgent.
  @TaskLocal public static var current: WaitUrgency?

  private struct State {
    var urgent = false
    var sleepers: [Int: CheckedContinuation<Void, Never>] = [:]
    var next = 0
  }

  private let state = Mutex(State())

  public init() {}

  public var isUrgent: Bool { state.withLock { $0.urgent } }

  /// From now on the work is waited for: every sleeper wakes.
  public func becomeUrgent() {
    let sleepers = state.withLock { state in
      state.urgent = true
      defer { state.sleepers = [:] }
      return Array(state.sleepers.values)
    }
    for sleeper in sleepers { sleeper.resume() }
  }

  /// Sleeps for `duration`, or until the work becomes urgent, whichever comes first.
  /// Throws `CancellationError` when the task is cancelled, as `Task.sleep` does.
  public func sleep(for duration: Duration) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await Task.sleep(for: duration) }
      group.addTask { await self.untilUrgent() }
      // The first to end wins: the sleep (its time is up, or it was cancelled and throws), or
      // the urgency. The other is cancelled, and ends at once.
      defer { group.cancelAll() }
      try await group.next()
    }
  }

  /// Returns once the work is urgent, or once the task is cancelled.
  private func untilUrgent() async {
    let id = state.withLock { state in
      defer { state.next += 1 }
      return state.next
    }
    await withTaskCancellationHandler {
      await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        let resumeNow = state.withLock { state in
          if state.urgent || Task.isCancelled { return true }
          state.sleepers[id] = continuation
          return false
        }
        if resumeNow { continuation.resume() }
      }
    } onCancel: {
      let sleeper = state.withLock { $0.sleepers.removeValue(forKey: id) }
      sleeper?.resume()
    }
  }
}
