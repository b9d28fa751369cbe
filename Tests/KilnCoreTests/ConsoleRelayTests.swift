import Foundation
import KilnCore
import Synchronization
import Testing

/// A command's output relayed on bytes (`TargetedUI.outputSink`) prints exactly what
/// `message` and `error` print line by line, however the bytes are cut into reads.
@Suite struct ConsoleRelayTests {
  static let secrets = ["hunter2", "42", "abcdef"]

  func console(_ configure: (inout ConsoleUI.Options) -> Void = { _ in }) -> (ConsoleUI, Captured) {
    var options = ConsoleUI.Options()
    options.color = false
    configure(&options)
    let captured = Captured()
    return (ConsoleUI(options: options, masker: SecretMasker(Self.secrets), write: captured.write), captured)
  }

  /// Lines with what the prefix, masking and trimming must get right.
  static let lines: [(CommandStream, String)] = [
    (.stdout, "plain"), (.stdout, ""), (.stdout, "   "), (.stdout, "trailing space \t"), (.stdout, "pin=42, x42, 420, (42)"),
    (.stderr, "error with hunter2 inside"), (.stdout, "crlf line\r"), (.stdout, "unicode é42 —42 ünïcödé\u{00A0}"),
    (.stderr, "commas, and more, commas"), (.stdout, "overlap abcdefabcdef"), (.stdout, "no-break space only\u{3000}"),
  ]

  /// What printing `lines` one call each prints.
  func expected(_ configure: (inout ConsoleUI.Options) -> Void) -> String {
    let (console, out) = console(configure)
    let ui = console.forBuild("b")
    for (stream, text) in Self.lines {
      let line = text.hasSuffix("\r") ? String(text.dropLast()) : text
      if stream == .stdout { ui.message(line) } else { ui.error(line) }
    }
    return out.value
  }

  /// What relaying `lines` as bytes, cut into reads of `size` bytes, prints.
  func relayed(_ configure: (inout ConsoleUI.Options) -> Void, readSize size: Int) -> String {
    let (console, out) = console(configure)
    let sink = console.forBuild("b").outputSink()
    for (stream, text) in Self.lines {
      let bytes = Array((text + "\n").utf8)
      for start in stride(from: 0, to: bytes.count, by: size) {
        bytes[start..<min(bytes.count, start + size)].withUnsafeBytes { sink.write($0, from: stream) }
      }
    }
    sink.finish()
    return out.value
  }

  @Test(arguments: [1, 2, 3, 7, 64, 4096])
  func relayedBytesPrintWhatMessagesPrint(readSize: Int) {
    let plain: (inout ConsoleUI.Options) -> Void = { _ in }
    #expect(relayed(plain, readSize: readSize) == expected(plain))
    let colored: (inout ConsoleUI.Options) -> Void = { $0.color = true }
    #expect(relayed(colored, readSize: readSize) == expected(colored))
    // Machine-readable lines carry the time in seconds: compare their fields after it.
    let machine: (inout ConsoleUI.Options) -> Void = { $0.machineReadable = true }
    func fields(_ text: String) -> [String] {
      text.split(separator: "\n").map { $0.drop { $0 != "," }.description }
    }
    #expect(fields(relayed(machine, readSize: readSize)) == fields(expected(machine)))
  }

  @Test func masksWhatItShould() {
    let printed = relayed({ _ in }, readSize: 5)
    #expect(!printed.contains("hunter2") && !printed.contains("abcdef"))
    #expect(printed.contains("    b: pin=<sensitive>, x42, 420, (<sensitive>)\n"))
    #expect(printed.contains("    b: overlap <sensitive>\n"))
    #expect(printed.contains("é42 —<sensitive> "))
  }

  @Test func aSecretSplitAcrossReadsIsMasked() {
    let (console, out) = console()
    let sink = console.forBuild("b").outputSink()
    Array("key=abc".utf8).withUnsafeBytes { sink.write($0, from: .stdout) }
    sink.idle()
    Array("def and hunt".utf8).withUnsafeBytes { sink.write($0, from: .stdout) }
    sink.idle()
    Array("er2\n".utf8).withUnsafeBytes { sink.write($0, from: .stdout) }
    sink.finish()
    #expect(out.value == "    b: key=<sensitive> and <sensitive>\n")
  }

  @Test func linesAreHeldUntilTheCommandIsQuietOrABatchIsFull() {
    let (console, out) = console()
    let sink = console.forBuild("b").outputSink()
    Array("one\ntwo\n".utf8).withUnsafeBytes { sink.write($0, from: .stdout) }
    #expect(out.value.isEmpty)
    sink.idle()
    #expect(out.value == "    b: one\n    b: two\n")
    // 70,000 bytes of lines fill a batch: written without waiting for `idle`.
    let many = String(repeating: "0123456789abcde\n", count: 70_000 / 16)
    Array(many.utf8).withUnsafeBytes { sink.write($0, from: .stdout) }
    #expect(out.value.count > 64 * 1024)
    sink.finish()
    #expect(out.value.split(separator: "\n").count == 2 + 70_000 / 16)
  }

  @Test func anyOtherLineWritesWhatIsHeldFirst() {
    let (console, out) = console()
    let ui = console.forBuild("b")
    let sink = ui.outputSink()
    Array("held\n".utf8).withUnsafeBytes { sink.write($0, from: .stdout) }
    ui.say("step")
    #expect(out.value == "    b: held\n==> b: step\n")
  }

  @Test func aLineWithoutNewlineIsPrintedInBoundedPiecesWithANote() {
    let (console, out) = console()
    let sink = console.forBuild("b").outputSink()
    // 200,000 bytes without a newline, with a secret across the first 64 KiB boundary.
    var bytes = [UInt8](repeating: UInt8(ascii: "x"), count: 200_000)
    bytes.replaceSubrange(65_530..<65_537, with: Array("hunter2".utf8))
    for start in stride(from: 0, to: bytes.count, by: 1000) {
      bytes[start..<min(bytes.count, start + 1000)].withUnsafeBytes { sink.write($0, from: .stdout) }
    }
    sink.finish()
    let lines = out.value.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
    #expect(lines.first?.hasPrefix("    b: (kiln: the next line is longer than 65536 bytes") == true)
    let pieces = lines.dropFirst()
    #expect(pieces.count == 4)
    // At most 64 KiB of the command's bytes each (the masked secret counted as itself).
    #expect(pieces.allSatisfy { $0.hasPrefix("    b: ") && $0.replacing("<sensitive>", with: "hunter2").utf8.count - 7 <= 65_536 })
    #expect(!out.value.contains("hunter2") && out.value.contains("<sensitive>"))
    let xs = pieces.reduce(0) { $0 + $1.utf8.filter { $0 == UInt8(ascii: "x") }.count }
    #expect(xs == 200_000 - 7)
  }

  @Test func eachRelayedLineIsAnOutputEvent() throws {
    let events = Captured()
    let stream = EventStream(runUUID: "r", write: events.write)
    var options = ConsoleUI.Options()
    options.color = false
    let console = ConsoleUI(options: options, masker: SecretMasker(["hunter2"]), events: stream, write: { _ in })
    let sink = console.forBuild("b").outputSink()
    Array("one hunter2\ntwo\n".utf8).withUnsafeBytes { sink.write($0, from: .stderr) }
    sink.finish()
    let objects = try events.value.split(separator: "\n").map {
      try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
    }
    #expect(objects.map { $0["text"] as? String } == ["one <sensitive>", "two"])
    #expect(objects.allSatisfy { $0["level"] as? String == "error" && $0["build"] as? String == "b" })
  }
}

@Suite struct SecretMatcherTests {
  func mask(_ text: String, _ secrets: [String]) -> String { SecretMasker(secrets).mask(text) }

  @Test func longSecretsAnywhereShortOnesAsWholeTokens() {
    #expect(mask("a hunter2b", ["hunter2"]) == "a <sensitive>b")
    #expect(mask("pin=123 1234 x123 123_ '123'", ["123"]) == "pin=<sensitive> 1234 x123 123_ '<sensitive>'")
    #expect(mask("é12 ×12", ["12"]) == "é12 ×<sensitive>")
  }

  @Test func overlappingSecretsLeaveNoPartShowing() {
    #expect(mask("xabcdefx", ["abcd", "bcdef"]) == "x<sensitive>x")
    #expect(mask("aaaaa", ["aaaa"]) == "<sensitive>")
    #expect(mask("<sensitive> sens", ["sens"]) == "<<sensitive>itive> <sensitive>")
  }
}
