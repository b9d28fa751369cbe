import Synchronization

/// What a run (one `kiln build`) has created and not yet removed: the one ledger of live
/// resources. The run creates it and hands it to every build through
/// `BuildContext.resources`; steps and provisioners record a resource the moment it exists
/// (or is asked for) and settle it once it is gone. A second Ctrl-C names everything still
/// recorded; a build's own report (`-on-error=abort`, a cancelled cleanup) reads what its
/// plugin recorded for it.
public final class ResourceJournal: Sendable {
  /// Who recorded a resource: the build, and the plugin of it that removes it (`amazon-ebs`,
  /// `shell`).
  public struct Owner: Hashable, Sendable {
    public var build: String
    public var plugin: String

    public init(build: String, plugin: String) {
      self.build = build
      self.plugin = plugin
    }
  }

  private struct Entry {
    var owner: Owner
    var description: String
  }

  private struct Entries {
    var next = 0
    var live: [Int: Entry] = [:]
  }

  private let entries = Mutex(Entries())

  /// What happened to an entry, for `-events`.
  public enum Change: Sendable {
    case created, updated, deleted
  }

  private let observer: (@Sendable (Change, Owner, String) -> Void)?

  /// - Parameter observer: hears each record, update and settle (after the ledger changed).
  public init(observer: (@Sendable (Change, Owner, String) -> Void)? = nil) {
    self.observer = observer
  }

  /// Records a live resource ("script /tmp/script_1.sh on 10.0.0.5"); returns its token.
  @discardableResult
  public func record(_ description: String, by owner: Owner) -> Int {
    let token = entries.withLock { entries in
      entries.next += 1
      entries.live[entries.next] = Entry(owner: owner, description: description)
      return entries.next
    }
    observer?(.created, owner, description)
    return token
  }

  /// What was recorded under `token` is now known better (a create call answered with the
  /// id of what it made).
  public func update(_ token: Int, _ description: String) {
    let owner = entries.withLock { entries -> Owner? in
      entries.live[token]?.description = description
      return entries.live[token]?.owner
    }
    if let owner { observer?(.updated, owner, description) }
  }

  /// The resource is gone.
  public func settle(_ token: Int) {
    if let entry = entries.withLock({ $0.live.removeValue(forKey: token) }) { observer?(.deleted, entry.owner, entry.description) }
  }

  /// Resources still recorded by anyone, oldest first.
  public var outstanding: [String] { outstanding { _ in true } }

  /// Resources still recorded for `build`, by any of its plugins, oldest first.
  public func outstanding(build: String) -> [String] { outstanding { $0.build == build } }

  /// Resources still recorded by `owner`, oldest first.
  public func outstanding(of owner: Owner) -> [String] { outstanding { $0 == owner } }

  private func outstanding(where include: (Owner) -> Bool) -> [String] {
    entries.withLock { entries in
      entries.live.sorted { $0.key < $1.key }.compactMap { include($0.value.owner) ? $0.value.description : nil }
    }
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
