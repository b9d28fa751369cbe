internal import COpenSSL

/// An OpenSSL call failed. Carries the library's own words, read from its error queue.
public struct OpenSSLError: Error, CustomStringConvertible, Sendable {
  /// The operation Kiln was performing, e.g. "HMAC-SHA256".
  public let operation: String
  /// The messages OpenSSL queued for this failure, oldest first.
  public let queue: [String]

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

  /// Every OpenSSL call goes through here: 1 is success, anything else throws with the queue.
  @inline(__always)
  static func check(_ result: Int32, _ operation: @autoclosure () -> String) throws(OpenSSLError) {
    if result != 1 { throw drain(operation()) }
  }
}
