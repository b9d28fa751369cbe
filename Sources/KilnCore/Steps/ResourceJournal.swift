import Synchronization

/// What a run has created and not yet removed, so that an exit that cannot clean up (a
/// second Ctrl-C) can name what is left. Steps record a resource the moment it exists and
/// settle it once it is gone.
public final class ResourceJournal: Sendable {
  public static let shared = ResourceJournal()

  private let entries = Mutex<[Int: String]>([:])
  private let next = Mutex(0)

  public init() {}

  /// Records a live resource ("script /tmp/script_1.sh on 10.0.0.5"); returns its token.
  @discardableResult
  public func record(_ description: String) -> Int {
    let token = next.withLock { $0 += 1; return $0 }
    entries.withLock { $0[token] = description }
    return token
  }

  /// What was recorded under `token` is now known better (a create call answered with the
  /// id of what it made).
  public func update(_ token: Int, _ description: String) {
    entries.withLock { if $0[token] != nil { $0[token] = description } }
  }

  /// The resource is gone.
  public func settle(_ token: Int) {
    _ = entries.withLock { $0.removeValue(forKey: token) }
  }

  /// Resources still recorded, oldest first.
  public var outstanding: [String] {
    entries.withLock { entries in entries.keys.sorted().map { entries[$0]! } }
  }
}

/// A build that was cancelled and whose cleanup did not remove everything it may have made:
/// what may be left, and the cleanups that failed. A cancelled build ends with a plain
/// `CancellationError` only when its cleanup was complete.
public struct CancelledLeavingResources: Error, CustomStringConvertible, Sendable {
  public var left: [String]

  public init(left: [String]) { self.left = left }

  public var description: String { "build was cancelled, and its cleanup did not finish: " + left.joined(separator: "; ") }
}

extension StepRunOutcome {
  /// The error a cancelled run ends with: `CancellationError` when every cleanup succeeded
  /// and nothing of `left` (the build's own list of live resources) remains, else
  /// `CancelledLeavingResources` naming both.
  public func cancellationError(left: [String]) -> any Error {
    let problems = cleanupProblems.map { "cleanup of step \"\($0.step)\" failed: \($0.problem)" }
    let skipped = skippedCleanups.map { "cleanup of step \"\($0)\" skipped" }
    if left.isEmpty && problems.isEmpty && skipped.isEmpty { return CancellationError() }
    return CancelledLeavingResources(left: left + problems + skipped)
  }
}
