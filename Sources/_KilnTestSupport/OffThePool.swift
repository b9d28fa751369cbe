import Foundation

/// Runs blocking work (waiting for a process, reading a pipe to its end) on a thread of its
/// own and awaits its result.
///
/// A test that blocks in a synchronous wait holds one of the cooperative pool's threads,
/// which is as wide as the machine has cores: on a 2-core machine two such waits starve every
/// other test (a 5 ms poll loop timed out after 63 s; trivial tests "passed after 62 s").
public func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
  try await withCheckedThrowingContinuation { continuation in
    let thread = Thread { continuation.resume(with: Result { try body() }) }
    thread.name = "kiln-test-blocking"
    thread.start()
  }
}
