import Synchronization

/// A value made once, on first use, by async work (a server several tests share): the
/// `Result { try ... }` of a `static let`, for a maker that awaits instead of blocking a
/// thread of the cooperative pool while the server starts.
public final class Shared<Value: Sendable>: Sendable {
  private let make: @Sendable () async throws -> Value
  private let task = Mutex<Task<Value, any Error>?>(nil)

  public init(_ make: @escaping @Sendable () async throws -> Value) { self.make = make }

  /// The value, made by the first caller; every later caller gets the same one (or error).
  public func get() async throws -> Value {
    let task = self.task.withLock { task in
      if let task { return task }
      let made = Task { try await make() }
      task = made
      return made
    }
    return try await task.value
  }
}
