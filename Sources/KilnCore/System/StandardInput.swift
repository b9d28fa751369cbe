import Foundation
import Synchronization

/// Reading the user's answer at a prompt (`-debug`, `-on-error=ask`, the breakpoint
/// provisioner) in a way Ctrl-C can interrupt.
///
/// `readLine()` blocks in `read(2)` and nothing can stop it: a cancelled build stayed paused
/// until Enter was pressed. Here a thread of its own polls standard input a tenth of a second
/// at a time and checks between polls whether the waiting task was cancelled; it reads only
/// once a byte is there, one byte at a time, so nothing after the line is taken from the
/// next prompt.
public enum StandardInput {
  /// How often the reader looks whether it was cancelled.
  static let pollInterval: Int32 = 100

  /// The next line without its newline (or "\r\n"); nil at end of input. Throws
  /// `CancellationError` when the task is cancelled while waiting, or once `abandonWhen`
  /// returns true (for a prompt in a cleanup, which cancellation does not reach).
  public static func readLine(
    fileDescriptor: Int32 = 0, abandonWhen: @escaping @Sendable () -> Bool = { false }
  ) async throws -> String? {
    let cancelled = CancellationFlag()
    let result: Result<String?, any Error> = await withTaskCancellationHandler {
      await withCheckedContinuation { continuation in
        do {
          try startDedicatedThread {
            continuation.resume(returning: read(fileDescriptor) { cancelled.isCancelled || abandonWhen() })
          }
        } catch {
          continuation.resume(returning: .failure(error))
        }
      }
    } onCancel: {
      cancelled.cancel()
    }
    return try result.get()
  }

  /// The longest answer kept; the rest of a longer line is dropped.
  public static let maximumLineBytes = 4096

  private static func read(_ fd: Int32, until stop: () -> Bool) -> Result<String?, any Error> {
    var line: [UInt8] = []
    func text() -> String { String(decoding: line.last == 0x0D ? line.dropLast() : line[...], as: UTF8.self) }
    while true {
      if stop() { return .failure(CancellationError()) }
      var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
      let ready = poll(&entry, 1, pollInterval)
      if ready < 0 {
        if errno == EINTR { continue }
        return .failure(POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO))
      }
      guard ready > 0 else { continue }
      var byte: UInt8 = 0
      let count = Glibc.read(fd, &byte, 1)
      if count < 0 {
        if errno == EINTR || errno == EAGAIN { continue }
        return .failure(POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO))
      }
      if count == 0 { return .success(line.isEmpty ? nil : text()) }
      if byte == 0x0A { return .success(text()) }
      // An answer is a word or two: past the bound the rest of the line is read and dropped,
      // so a stream without newlines (stdin from /dev/zero) cannot grow memory.
      if line.count < maximumLineBytes { line.append(byte) }
    }
  }
}
