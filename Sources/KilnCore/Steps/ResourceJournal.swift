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

  /// The resource is gone.
  public func settle(_ token: Int) {
    _ = entries.withLock { $0.removeValue(forKey: token) }
  }

  /// Resources still recorded, oldest first.
  public var outstanding: [String] {
    entries.withLock { entries in entries.keys.sorted().map { entries[$0]! } }
  }
}
