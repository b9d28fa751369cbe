internal import COpenSSL

/// An OpenSSL call failed. Carries the library's own words, read from its error queue.
///
/// The one error type of `KilnCrypto`: every OpenSSL return code goes through `check` (or,
/// for calls that return a pointer, `drain`), which empties the calling thread's error
/// queue into the error, so a later call never reports an earlier failure's reasons.
public struct OpenSSLError: Error, CustomStringConvertible, Sendable {
  /// The operation Kiln was performing, e.g. "HMAC-SHA256".
  public let operation: String
  /// The messages OpenSSL queued for this failure, oldest first
  /// (`error:1E08010C:DECODER routines::unsupported`).
  public let queue: [String]

  /// An error for `operation`; `queue` holds OpenSSL's messages, if it gave any.
  public init(operation: String, queue: [String]) {
    self.operation = operation
    self.queue = queue
  }

  public var description: String {
    queue.isEmpty
      ? "OpenSSL: \(operation) failed"
      : "OpenSSL: \(operation) failed: \(queue.joined(separator: "; "))"
  }

  /// Drains OpenSSL's per-thread error queue into an error for `operation`.
  static func drain(_ operation: String) -> OpenSSLError {
    var messages: [String] = []
    while case let code = ERR_get_error(), code != 0 {
      var buffer = [CChar](repeating: 0, count: 256)
      ERR_error_string_n(code, &buffer, buffer.count)
      messages.append(String(decoding: buffer.prefix { $0 != 0 }.map(UInt8.init(bitPattern:)), as: UTF8.self))
    }
    return OpenSSLError(operation: operation, queue: messages)
  }

  /// Every OpenSSL call that answers 1 for success goes through here: anything else throws
  /// with the queue.
  @inline(__always)
  static func check(_ result: Int32, _ operation: @autoclosure () -> String) throws(OpenSSLError) {
    if result != 1 { throw drain(operation()) }
  }

  /// For calls that return a handle: nil throws with the queue.
  @inline(__always)
  static func check<T>(_ result: T?, _ operation: @autoclosure () -> String) throws(OpenSSLError) -> T {
    guard let result else { throw drain(operation()) }
    return result
  }
}
