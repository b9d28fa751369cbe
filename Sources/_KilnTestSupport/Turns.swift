/// A counting semaphore that suspends instead of blocking a thread: at most `count` holders
/// at once, the others wait their turn in order.
///
/// Tests that wait without holding a pool thread all start together: 110 `kiln validate`
/// processes or twenty moto imports at once on a 2-core machine starve everything else (and
/// overrun every timeout). The helpers that start processes take turns.
public actor Turns {
  private var free: Int
  private var waiting: [CheckedContinuation<Void, Never>] = []

  public init(_ count: Int) { free = count }

  public func acquire() async {
    if free > 0 {
      free -= 1
      return
    }
    await withCheckedContinuation { waiting.append($0) }
  }

  public func release() {
    if waiting.isEmpty { free += 1 } else { waiting.removeFirst().resume() }
  }

  /// Runs `body` in a turn.
  public func withTurn<T: Sendable>(_ body: @Sendable () async throws -> T) async rethrows -> T {
    await acquire()
    do {
      let value = try await body()
      release()
      return value
    } catch {
      release()
      throw error
    }
  }

  /// For processes run to their end by the tests (`TestCommand`, `KilnProcess`).
  public static let processes = Turns(4)
}
