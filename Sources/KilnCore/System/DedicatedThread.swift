import Foundation
import Synchronization

/// Starts `body` on a new POSIX thread of its own, detached.
///
/// For work that blocks in a system call (`poll`, `read`): on the cooperative pool
/// it would hold one of its few threads (two on a 2-core machine) and starve every other task.
/// Unlike Foundation's `Thread`, a failure to create the thread is reported, not ignored.
public func startDedicatedThread(_ body: @escaping @Sendable () -> Void) throws {
  final class Box {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
  }
  let box = Unmanaged.passRetained(Box(body)).toOpaque()
  var thread = pthread_t()
  let result = pthread_create(
    &thread, nil,
    { context in
      guard let context else { return nil }
      let box = Unmanaged<Box>.fromOpaque(context).takeRetainedValue()
      box.body()
      return nil
    }, box)
  guard result == 0 else {
    Unmanaged<Box>.fromOpaque(box).release()
    throw POSIXError(POSIXErrorCode(rawValue: result) ?? .EAGAIN)
  }
  pthread_detach(thread)
}

/// A flag a task's cancellation handler sets and a thread of its own polls (an SSH session's
/// queue, a prompt's reader): its way to learn of a Ctrl-C while it blocks in `poll` or
/// `read` in short slices.
public final class CancellationFlag: Sendable {
  private let value = Atomic<Bool>(false)
  public init() {}
  public var isCancelled: Bool { value.load(ordering: .relaxed) }
  public func cancel() { value.store(true, ordering: .relaxed) }
}
