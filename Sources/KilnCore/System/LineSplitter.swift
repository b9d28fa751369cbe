/// Splits a byte stream into lines as they complete (UTF-8, `\n` or `\r\n`): the output of
/// remote commands (KilnSSH) and of local ones (`ChildProcess`).
///
/// A line longer than `maximumLine` bytes is delivered in pieces of at most that size (cut
/// between UTF-8 characters), so a remote command printing gigabytes without a newline
/// cannot grow the buffer without bound.
public struct LineSplitter: Sendable {
  public static let maximumLine = 64 * 1024
  let emit: @Sendable (String) -> Void
  var pending: [UInt8] = []

  public init(emit: @escaping @Sendable (String) -> Void) { self.emit = emit }

  public mutating func append(_ bytes: UnsafeRawBufferPointer) {
    for byte in bytes {
      if byte == UInt8(ascii: "\n") {
        if pending.last == UInt8(ascii: "\r") { pending.removeLast() }
        emit(String(decoding: pending, as: UTF8.self))
        pending.removeAll(keepingCapacity: true)
      } else {
        pending.append(byte)
        if pending.count >= Self.maximumLine { emitPiece() }
      }
    }
  }

  /// Emits the full buffer up to its last complete UTF-8 character and keeps the rest.
  private mutating func emitPiece() {
    let cut = pending.withUnsafeBytes(Self.pieceEnd)
    emit(String(decoding: pending[..<cut], as: UTF8.self))
    pending.removeSubrange(..<cut)
  }

  /// Where a piece of an over-long line may end: after the last complete UTF-8 character of
  /// `bytes` (all of it when that is none).
  public static func pieceEnd(_ bytes: UnsafeRawBufferPointer) -> Int {
    var cut = bytes.count
    guard cut > 0 else { return 0 }
    // Step back over continuation bytes (10xxxxxx) to the start of the last character; keep
    // that character only if its lead byte announces more bytes than are here.
    var start = cut - 1
    while start > 0, start > cut - 4, bytes[start] & 0xC0 == 0x80 { start -= 1 }
    let lead = bytes[start]
    let length = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1
    if cut - start < length { cut = start }
    if cut == 0 { cut = bytes.count }
    return cut
  }

  /// Emits what is left: the last line, when the stream did not end with a newline.
  public mutating func flush() {
    if !pending.isEmpty {
      emit(String(decoding: pending, as: UTF8.self))
      pending.removeAll()
    }
  }
}
