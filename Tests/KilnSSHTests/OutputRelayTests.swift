import Foundation
import KilnCore
import KilnSSH
import Synchronization
import Testing
import _KilnTestSupport

/// A provisioner's output through the path a build uses (`Communicator.run(_:into:)` into the
/// build's `outputSink`), from a real sshd to the console: whole, in order, prefixed, masked,
/// bounded (issue #15 item 6).
@Suite struct OutputRelayTests {
  /// What the console printed, and a build's UI on it.
  final class Printed: Sendable {
    final class Text: Sendable {
      let value = Mutex("")
    }
    let printed = Text()
    let console: ConsoleUI
    init(secrets: [String] = []) {
      var options = ConsoleUI.Options()
      options.color = false
      let printed = printed
      console = ConsoleUI(options: options, masker: SecretMasker(secrets), write: { chunk in printed.value.withLock { $0 += chunk } })
    }
    var text: String { printed.value.withLock { $0 } }
    var lines: [Substring] { text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() }
  }

  static func communicator() async throws -> ReconnectingCommunicator {
    let config = try await SharedSSH.config()
    return ReconnectingCommunicator(connector: SSHConnector(config: config), first: try await SSHSession.connect(config))
  }

  @Test func twoHundredThousandLinesArriveWholeInOrderAndPrefixed() async throws {
    let communicator = try await Self.communicator()
    let printed = Printed(secrets: ["not-in-the-output"])
    let result = try await communicator.run("seq 200000; echo done >&2", into: printed.console.forBuild("node").outputSink())
    await communicator.close()
    #expect(result == .exited(0))
    // Standard error's line may come anywhere among them (two streams): the others in order.
    let lines = printed.lines
    #expect(lines.count == 200_001)
    #expect(lines.filter { $0 == "==> node: done" }.count == 1)
    var wrong = 0
    for (index, line) in lines.filter({ $0 != "==> node: done" }).enumerated() where line != "    node: \(index + 1)" { wrong += 1 }
    #expect(wrong == 0)
  }

  @Test func aSecretSplitAcrossTwoReadsOfTheChannelIsMasked() async throws {
    let communicator = try await Self.communicator()
    let printed = Printed(secrets: ["correct-horse-battery"])
    // The pause makes sshd send the two halves in two packets: two reads, with the console
    // told in between that nothing more is ready.
    let result = try await communicator.run(
      "printf 'password: correct-horse'; sleep 0.3; printf -- '-battery staple\\n'; seq 3",
      into: printed.console.forBuild("b").outputSink())
    await communicator.close()
    #expect(result == .exited(0))
    #expect(printed.lines == ["    b: password: <sensitive> staple", "    b: 1", "    b: 2", "    b: 3"])
  }

  @Test func aLongLineWithoutNewlineIsPrintedInBoundedPieces() async throws {
    let communicator = try await Self.communicator()
    let printed = Printed()
    let result = try await communicator.run(
      "head -c 1000000 /dev/zero | tr '\\0' x", into: printed.console.forBuild("b").outputSink())
    await communicator.close()
    #expect(result == .exited(0))
    let lines = printed.lines
    #expect(lines.first?.contains("longer than 65536 bytes") == true)
    let pieces = lines.dropFirst()
    #expect(pieces.count == (1_000_000 + 65_535) / 65_536)
    #expect(pieces.allSatisfy { $0.hasPrefix("    b: ") && $0.utf8.count <= 7 + 65_536 })
    #expect(pieces.reduce(0) { $0 + $1.utf8.count - 7 } == 1_000_000)
  }

  @Test func cancellingLosesNoLineAlreadyRead() async throws {
    let communicator = try await Self.communicator()
    let printed = Printed()
    let sink = printed.console.forBuild("b").outputSink()
    let task = Task { try await communicator.run("seq 100000000", into: sink) }
    while printed.lines.count < 5000 { try await Task.sleep(for: .milliseconds(20)) }
    task.cancel()
    await #expect(throws: CancellationError.self) { try await task.value }
    await communicator.close()
    // Every line read before the cancellation, none skipped; the last one may be the part of
    // a line that had arrived.
    let lines = printed.lines
    #expect(lines.count >= 5000)
    var wrong = 0
    for (index, line) in lines.dropLast().enumerated() where line != "    b: \(index + 1)" { wrong += 1 }
    #expect(wrong == 0)
    #expect("    b: \(lines.count)".hasPrefix(lines.last ?? "none"))
    #expect(printed.text.hasSuffix("\n"))
  }
}
