import Foundation
import KilnCore
import Synchronization
import Testing

/// The process runner behind shell-local: lines as they come, bounded, whole characters.
@Suite struct ChildProcessTests {
  /// A line longer than the bound arrives in pieces cut between UTF-8 characters: joined
  /// again they are the output, and no piece holds a replacement character.
  @Test(.timeLimit(.minutes(1))) func aLongLineIsCutBetweenCharacters() async throws {
    let count = 50_000  // "é" is 2 bytes: 100,000 bytes, past the 64 KiB bound, odd cut
    let lines = Mutex<[String]>([])
    let ended = try await ChildProcess.run(
      "/bin/sh", arguments: ["-c", "printf 'x'; i=0; s=''; while [ $i -lt 100 ]; do s=\"$s\u{e9}\"; i=$((i+1)); done; j=0; while [ $j -lt \(count / 100) ]; do printf '%s' \"$s\"; j=$((j+1)); done; printf '\\nnext\\n'"],
      environment: ["PATH": "/usr/bin:/bin", "LC_ALL": "C"]
    ) { stream, line in
      if stream == .stdout { lines.withLock { $0.append(line) } }
    }
    #expect(ended.shellStatus == 0)
    let got = lines.withLock { $0 }
    #expect(got.count >= 3, "\(got.count) pieces")
    #expect(got.allSatisfy { !$0.contains("\u{FFFD}") }, "a piece was cut inside a character")
    #expect(got.allSatisfy { $0.utf8.count <= ChildProcess.maximumLineBytes })
    #expect(got.dropLast().joined() == "x" + String(repeating: "\u{e9}", count: count))
    #expect(got.last == "next")
  }
}
