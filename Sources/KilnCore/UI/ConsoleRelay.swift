import Foundation
import Synchronization

/// A build's console relay of one command's output (`TargetedUI.outputSink`): the bytes a
/// command prints become exactly the lines `TargetedUI.message` (standard output) and `error`
/// (standard error) would print, but the work is done on bytes, a read's lines at a time:
/// lines are split with `memchr`, masked with the console's `SecretMatcher`, prefixed, and
/// handed to the console in one piece per read, which writes them in batches (`ConsoleUI.hold`).
///
/// Memory stays flat: a line without a newline is held up to `LineSplitter.maximumLine` bytes,
/// then printed in pieces of at most that size (cut between UTF-8 characters, and never inside
/// a secret), after a note saying so, once per stream.
final class ConsoleRelay: OutputSink {
  private let ui: TargetedUI
  private let state = Mutex(State())

  private struct State {
    /// The start of an unfinished line, per stream (stdout, stderr).
    var partial: [[UInt8]] = [[], []]
    /// Whether the note about over-long lines was printed, per stream.
    var noted = [false, false]
    /// The lines of the current read, formatted.
    var out: [UInt8] = []
  }

  /// What a read's lines are formatted with: the same for every line of one read.
  private struct Format {
    let matcher: SecretMatcher
    let machineReadable: Bool
    /// Per stream (stdout, stderr): the masked prefix, and the same without its trailing space
    /// (for a line that is empty once trailing white space is gone); the kind (`message`,
    /// `error`).
    let prefix: [[UInt8]]
    let barePrefix: [[UInt8]]
    let kind: [String]
    /// Per stream, what goes before a line's masked text and after it. On a console: the
    /// `-timestamp-ui` stamp, the style and the prefix (`bareHead`: with the bare prefix); the
    /// style's reset and the newline. Machine-readable: the record up to its data field (the
    /// prefix is part of that field, escaped); the newline.
    let head: [[UInt8]]
    let bareHead: [[UInt8]]
    let tail: [[UInt8]]
  }

  init(_ ui: TargetedUI) { self.ui = ui }

  func write(_ bytes: UnsafeRawBufferPointer, from stream: CommandStream) {
    let index = stream == .stdout ? 0 : 1
    state.withLock { state in
      let format = makeFormat()
      var rest = bytes
      while let base = rest.baseAddress, !rest.isEmpty, let newline = memchr(base, Int32(UInt8(ascii: "\n")), rest.count) {
        let length = UnsafeRawPointer(newline) - UnsafeRawPointer(base)
        let line = UnsafeRawBufferPointer(rebasing: rest[..<length])
        if state.partial[index].isEmpty {
          append(line, stream: index, format, &state)
        } else {
          state.partial[index].append(contentsOf: line)
          while state.partial[index].count > LineSplitter.maximumLine { cutPiece(stream: index, format, &state) }
          let whole = state.partial[index]
          state.partial[index].removeAll(keepingCapacity: true)
          whole.withUnsafeBytes { append($0, stream: index, format, &state) }
        }
        rest = UnsafeRawBufferPointer(rebasing: rest[(length + 1)...])
      }
      state.partial[index].append(contentsOf: rest)
      while state.partial[index].count > LineSplitter.maximumLine { cutPiece(stream: index, format, &state) }
      ui.console.hold(state.out, flush: false)
      state.out.removeAll(keepingCapacity: true)
    }
  }

  func idle() { ui.console.flush() }

  func finish() {
    state.withLock { state in
      let format = makeFormat()
      for index in 0..<2 where !state.partial[index].isEmpty {
        let last = state.partial[index]
        state.partial[index] = []
        last.withUnsafeBytes { append($0, stream: index, format, &state) }
      }
      ui.console.hold(state.out, flush: true)
      state.out = []
    }
  }

  /// Prints the longest piece of an over-long unfinished line that ends between characters
  /// and outside any secret.
  private func cutPiece(stream index: Int, _ format: Format, _ state: inout State) {
    let cut = state.partial[index].withUnsafeBytes { bytes in
      let piece = UnsafeRawBufferPointer(rebasing: bytes[..<LineSplitter.maximumLine])
      let end = LineSplitter.pieceEnd(piece)
      let safe = format.matcher.safeCut(UnsafeRawBufferPointer(rebasing: piece[..<end]))
      return safe > 0 ? safe : end
    }
    if !state.noted[index] {
      state.noted[index] = true
      let note = "(kiln: the next line is longer than \(LineSplitter.maximumLine) bytes: it is printed in pieces of at most that size)"
      Array(note.utf8).withUnsafeBytes { append($0, stream: index, format, &state) }
    }
    let piece = Array(state.partial[index][..<cut])
    state.partial[index].removeSubrange(..<cut)
    piece.withUnsafeBytes { append($0, stream: index, format, &state) }
  }

  private func makeFormat() -> Format {
    let console = ui.console
    let matcher = console.matcher
    let prefixes = ["    \(ui.target): ", "==> \(ui.target): "].map { prefix in
      var masked: [UInt8] = []
      Array(prefix.utf8).withUnsafeBytes { _ = matcher.mask($0, into: &masked) }
      return masked
    }
    let barePrefixes = prefixes.map { Array($0.dropLast()) }
    let kinds = ["message", "error"]
    if console.options.machineReadable {
      let record = Array("\(Int(Date().timeIntervalSince1970)),,ui,".utf8)
      let heads = kinds.map { record + Array($0.utf8) + [UInt8(ascii: ",")] }
      return Format(
        matcher: matcher, machineReadable: true, prefix: prefixes, barePrefix: barePrefixes, kind: kinds, head: heads, bareHead: heads,
        tail: [[UInt8(ascii: "\n")], [UInt8(ascii: "\n")]])
    }
    let stamp = Array((console.options.timestamps ? Date().formatted(.iso8601) + ": " : "").utf8)
    let styles = [ui.color, console.options.color ? "\u{1B}[1;31m" : nil]
    return Format(
      matcher: matcher, machineReadable: false, prefix: prefixes, barePrefix: barePrefixes, kind: kinds,
      head: styles.indices.map { stamp + Array((styles[$0] ?? "").utf8) + prefixes[$0] },
      bareHead: styles.indices.map { stamp + Array((styles[$0] ?? "").utf8) + barePrefixes[$0] },
      tail: styles.map { Array(($0 == nil ? "" : "\u{1B}[0m").utf8) + [UInt8(ascii: "\n")] })
  }

  /// Formats one line (without its newline) into `state.out`, as `TargetedUI.message` or
  /// `error` followed by `ConsoleUI.human` would print it.
  private func append(_ raw: UnsafeRawBufferPointer, stream index: Int, _ format: Format, _ state: inout State) {
    var line = raw
    if line.last == UInt8(ascii: "\r") { line = UnsafeRawBufferPointer(rebasing: line.dropLast()) }
    if ui.console.events != nil {
      ui.event("output", ["level": .string(index == 0 ? "message" : "error"), "text": .string(String(decoding: line, as: UTF8.self))])
    }
    // Packer's prefixLines drops the trailing white space of the prefixed text.
    line = UnsafeRawBufferPointer(rebasing: line[..<Self.trimmedEnd(line)])
    if let log = ui.console.log {
      var text = line.isEmpty ? format.barePrefix[index] : format.prefix[index]
      format.matcher.mask(line, into: &text)
      log.log("ui \(format.kind[index]): " + String(decoding: text, as: UTF8.self))
    }
    state.out.append(contentsOf: line.isEmpty ? format.bareHead[index] : format.head[index])
    if format.machineReadable {
      var text = line.isEmpty ? format.barePrefix[index] : format.prefix[index]
      format.matcher.mask(line, into: &text)
      Self.escapeField(text, into: &state.out)
    } else {
      format.matcher.mask(line, into: &state.out)
    }
    state.out.append(contentsOf: format.tail[index])
  }

  /// `MachineReadable.escape` on bytes.
  static func escapeField(_ field: [UInt8], into out: inout [UInt8]) {
    for byte in field {
      switch byte {
      case UInt8(ascii: ","): out.append(contentsOf: "%!(PACKER_COMMA)".utf8)
      case UInt8(ascii: "\n"): out.append(contentsOf: "\\n".utf8)
      case UInt8(ascii: "\r"): out.append(contentsOf: "\\r".utf8)
      default: out.append(byte)
      }
    }
  }

  /// The end of `line` without its trailing white space (Unicode's, as `Character.isWhitespace`).
  static func trimmedEnd(_ line: UnsafeRawBufferPointer) -> Int {
    var end = line.count
    while end > 0 {
      let last = line[end - 1]
      if last < 0x80 {
        guard last == 0x20 || (last >= 0x09 && last <= 0x0D) else { return end }
        end -= 1
        continue
      }
      var start = end - 1
      while start > 0, end - start < 4, line[start] & 0xC0 == 0x80 { start -= 1 }
      let decoded = String(decoding: UnsafeRawBufferPointer(rebasing: line[start..<end]), as: UTF8.self).unicodeScalars
      guard decoded.count == 1, let scalar = decoded.first, scalar.properties.isWhitespace else { return end }
      end = start
    }
    return end
  }
}
