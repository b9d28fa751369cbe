import Foundation
import Synchronization

/// Where a build's messages go. `ConsoleUI` prints Packer's formats; tests record.
public protocol BuildUI: Sendable {
  /// A step of the build: `==> name: text` (bold when coloured).
  func say(_ text: String)
  /// Output under a step: `    name: text`.
  func message(_ text: String)
  /// A problem: `==> name: text` (red when coloured).
  func error(_ text: String)
  /// A machine-readable record (`-machine-readable` only): `ts,target,type,data…`.
  func machine(_ type: String, _ data: [String])
  /// A transient status (upload percentage): redrawn in place on a terminal, never written
  /// anywhere else (pipes, logs and CI output stay clean).
  func progress(_ text: String)
  /// The UI a post-processor of this build writes to.
  func forPostProcessor(_ type: String) -> any BuildUI
  /// An event of this build for `-events` (see `EventStream`); nothing without one.
  func event(_ type: String, _ fields: [String: EventStream.Value])
  /// Where a command's output goes (`Communicator.run(_:into:)`): each line of standard
  /// output as a `message`, of standard error as an `error`.
  func outputSink() -> any OutputSink
}

extension BuildUI {
  public func progress(_ text: String) {}
  public func forPostProcessor(_ type: String) -> any BuildUI { self }
  public func event(_ type: String, _ fields: [String: EventStream.Value]) {}
  public func outputSink() -> any OutputSink {
    LineSink { line in
      switch line {
      case .stdout(let text): message(text)
      case .stderr(let text): error(text)
      }
    }
  }
}

/// Packer's console output (reference §6.2–6.3): per-build prefixes and colours, optional
/// timestamps, or the machine-readable line format; every line passes the secret masker.
/// Writes are serialised, so parallel builds never interleave inside a line.
///
/// A command's output (`TargetedUI.outputSink`) is held and written in batches: up to
/// `batchBytes`, until the command has nothing more ready, or `batchDelay` at most. Any other
/// line writes what is held first, so the order on screen is the order of the calls.
public final class ConsoleUI: Sendable {
  public struct Options: Sendable {
    public var machineReadable = false
    public var color = true
    public var timestamps = false
    /// Draw `progress` lines (only when standard output is a terminal).
    public var progress = false
    public init() {}
  }

  public let options: Options
  private let masker: Mutex<SecretMasker>
  /// Relayed output not yet written (see `hold`), and when the oldest of it came.
  private let held = Mutex((bytes: [UInt8](), since: ContinuousClock.Instant?.none))
  static let batchBytes = 64 * 1024
  static let batchDelay = Duration.milliseconds(50)
  private let colors = ["\u{1B}[32m", "\u{1B}[36m", "\u{1B}[35m", "\u{1B}[33m", "\u{1B}[34m"]
  private let nextColor = Mutex(0)
  /// Whether a progress line is on screen, to be cleared before the next line.
  private let progressShown = Mutex(false)
  private let write: @Sendable (UnsafeRawBufferPointer) -> Void
  /// Every UI line also goes to the debug log, when there is one.
  public let log: DebugLog?

  /// `-events`: every line this console prints, and what the run reports through `event`.
  public let events: EventStream?

  /// - Parameter write: where text goes; standard output when nil.
  public init(options: Options, masker: SecretMasker, log: DebugLog? = nil, events: EventStream? = nil, write: (@Sendable (String) -> Void)? = nil) {
    self.log = log
    self.events = events
    self.options = options
    self.masker = Mutex(masker)
    if let write {
      self.write = { write(String(decoding: $0, as: UTF8.self)) }
    } else {
      self.write = { Self.writeAll(STDOUT_FILENO, $0) }
    }
  }

  public func addSecrets(_ values: [String]) { masker.withLock { $0.add(values) } }

  /// The UI of one build (messages prefixed with its name).
  public func forBuild(_ name: String) -> TargetedUI {
    let color = nextColor.withLock { index -> String in
      defer { index += 1 }
      return colors[index % colors.count]
    }
    let ui = TargetedUI(console: self, target: name, color: options.color && !options.machineReadable ? color : nil)
    if options.color, !options.machineReadable {
      emit("\(color)\(name): output will be in this color.\u{1B}[0m\n\n")
    }
    return ui
  }

  /// An event for `-events`, its strings masked as console lines are.
  public func event(_ type: String, build: String? = nil, _ fields: [String: EventStream.Value]) {
    guard let events else { return }
    events.emit(type, build: build, fields, mask: mask)
  }

  /// Lines without a build prefix, written as given, as Packer's own UI writes them: the
  /// summary passes its `==> ` and leading newlines in the text ("\n==> Wait completed…"),
  /// so `-machine-readable` carries them inside the field, escaped, exactly as Packer does.
  public func say(_ text: String) {
    event("output", ["level": .string("say"), "text": .string(text)])
    human(text, style: nil)
  }
  public func message(_ text: String) {
    event("output", ["level": .string("message"), "text": .string(text)])
    human(text, style: nil, kind: "message")
  }
  public func error(_ text: String) {
    event("output", ["level": .string("error"), "text": .string(text)])
    human(text, style: options.color ? "\u{1B}[1;31m" : nil, kind: "error")
  }

  public func machine(target: String, _ type: String, _ data: [String]) {
    guard options.machineReadable else { return }
    emit(MachineReadable.line(timestamp: Int(Date().timeIntervalSince1970), target: target, type: type, data.map(mask)) + "\n")
  }

  func human(_ text: String, style: String?, kind: String = "say") {
    let masked = mask(text)
    log?.log("ui \(kind): \(masked)")
    if options.machineReadable {
      emit(MachineReadable.line(timestamp: Int(Date().timeIntervalSince1970), type: "ui", [kind, masked]) + "\n")
      return
    }
    let stamp = options.timestamps ? Date().formatted(.iso8601) + ": " : ""
    let reset = style == nil ? "" : "\u{1B}[0m"
    // One line (a provisioner's output, nearly always) without splitting by Character, which
    // costs more than the rest of relaying a line.
    guard masked.utf8.contains(UInt8(ascii: "\n")) else {
      emit(stamp + (style ?? "") + masked + reset + "\n")
      return
    }
    let lines = masked.split(separator: "\n", omittingEmptySubsequences: false).map { stamp + (style ?? "") + $0 + reset }
    emit(lines.joined(separator: "\n") + "\n")
  }

  func mask(_ text: String) -> String { masker.withLock { $0.mask(text) } }

  /// The secrets as they are now, prepared for bytes.
  var matcher: SecretMatcher { masker.withLock { $0.matcher } }

  private func emit(_ text: String) {
    held.withLock { held in
      writeHeld(&held)
      clearProgress()
      var text = text
      text.withUTF8 { write(UnsafeRawBufferPointer($0)) }
    }
  }

  /// Adds relayed lines to what is held, and writes it all when `flush`, when there is
  /// `batchBytes` of it, or when the oldest has waited `batchDelay`.
  func hold(_ bytes: [UInt8], flush: Bool) {
    held.withLock { held in
      if !bytes.isEmpty {
        let now = ContinuousClock.now
        if held.bytes.isEmpty { held.since = now }
        held.bytes.append(contentsOf: bytes)
        if held.bytes.count >= Self.batchBytes || held.since.map({ now - $0 >= Self.batchDelay }) == true {
          writeHeld(&held)
        }
      }
      if flush { writeHeld(&held) }
    }
  }

  /// Writes whatever relayed output is held.
  public func flush() { hold([], flush: true) }

  private func writeHeld(_ held: inout (bytes: [UInt8], since: ContinuousClock.Instant?)) {
    guard !held.bytes.isEmpty else { return }
    clearProgress()
    held.bytes.withUnsafeBytes { write($0) }
    held.bytes.removeAll(keepingCapacity: true)
    held.since = nil
  }

  /// Clears the progress line, if one is drawn (under `held`'s lock).
  private func clearProgress() {
    if progressShown.withLock({ shown in
      defer { shown = false }
      return shown
    }) {
      var clear = "\r\u{1B}[K"
      clear.withUTF8 { write(UnsafeRawBufferPointer($0)) }
    }
  }

  func drawProgress(_ text: String) {
    guard options.progress, !options.machineReadable else { return }
    held.withLock { held in
      writeHeld(&held)
      var line = "\r\u{1B}[K" + mask(text)
      line.withUTF8 { write(UnsafeRawBufferPointer($0)) }
      progressShown.withLock { $0 = true }
    }
  }

  /// Writes all of `bytes` to `descriptor`, waiting while it is full. Standard output that
  /// fails (closed, full disk) loses the text: there is nowhere else to say so.
  static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) {
    guard let base = bytes.baseAddress else { return }
    var offset = 0
    while offset < bytes.count {
      let written = Foundation.write(descriptor, base + offset, bytes.count - offset)
      if written > 0 {
        offset += written
      } else if written < 0, errno == EINTR {
        continue
      } else if written < 0, errno == EAGAIN {
        var ready = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
        _ = poll(&ready, 1, 1000)
      } else {
        return
      }
    }
  }
}

/// One build's view of the console: Packer's `==> name: ` and `    name: ` prefixes.
public struct TargetedUI: BuildUI {
  let console: ConsoleUI
  public let target: String
  let color: String?
  /// The build, for events (a post-processor's `target` is "build (type)").
  var build: String

  init(console: ConsoleUI, target: String, color: String?, build: String? = nil) {
    self.console = console
    self.target = target
    self.color = color
    self.build = build ?? target
  }

  public func say(_ text: String) {
    event("output", ["level": .string("say"), "text": .string(text)])
    console.human(prefix(text, "==> \(target): "), style: color.map { $0 + "\u{1B}[1m" })
  }

  public func message(_ text: String) {
    event("output", ["level": .string("message"), "text": .string(text)])
    console.human(prefix(text, "    \(target): "), style: color, kind: "message")
  }

  public func error(_ text: String) {
    event("output", ["level": .string("error"), "text": .string(text)])
    console.human(prefix(text, "==> \(target): "), style: console.options.color ? "\u{1B}[1;31m" : nil, kind: "error")
  }

  public func machine(_ type: String, _ data: [String]) { console.machine(target: target, type, data) }

  public func progress(_ text: String) {
    event("progress", ["text": .string(text)])
    console.drawProgress("    \(target): " + text)
  }

  public func event(_ type: String, _ fields: [String: EventStream.Value]) { console.event(type, build: build, fields) }

  /// The fast path for a command's output: lines split, masked, prefixed and batched on bytes
  /// (`ConsoleRelay`), exactly as `message` and `error` print them.
  public func outputSink() -> any OutputSink { ConsoleRelay(self) }

  /// A post-processor's UI: Packer targets it as `build (type)`.
  public func forPostProcessor(_ type: String) -> any BuildUI {
    TargetedUI(console: console, target: "\(target) (\(type))", color: color, build: build)
  }

  /// Packer's `prefixLines`: every line gets the prefix, then trailing white space goes, so an
  /// empty message is `==> build:`.
  private func prefix(_ text: String, _ prefix: String) -> String {
    let lines =
      text.utf8.contains(UInt8(ascii: "\n"))
      ? text.split(separator: "\n", omittingEmptySubsequences: false).map { prefix + $0 }.joined(separator: "\n") : prefix + text
    guard lines.last?.isWhitespace == true else { return lines }
    return String(lines[..<(lines.lastIndex { !$0.isWhitespace }.map { lines.index(after: $0) } ?? lines.startIndex)])
  }
}
