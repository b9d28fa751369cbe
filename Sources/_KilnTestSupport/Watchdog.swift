public import Foundation
import Synchronization

/// Kills a process that outlives its time (SIGKILL: a hung program may ignore SIGINT), so a
/// test that waits for it fails instead of hanging.
public final class Watchdog: Sendable {
  private let state = Mutex<(done: Bool, fired: Bool)>((false, false))

  public init(_ process: Process, after seconds: Double) {
    let pid = process.processIdentifier
    DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { [self] in
      self.state.withLock { state in
        guard !state.done else { return }
        state.fired = true
        kill(pid, SIGKILL)
      }
    }
  }

  /// Stops the watch (call it once the process has been reaped); whether it had to kill.
  public func fired() -> Bool {
    state.withLock { state in
      state.done = true
      return state.fired
    }
  }
}
