import Foundation
import KilnFuzzing
import Testing

/// Every input the fuzzer ever kept (`fuzz/crashers/`, written by `fuzz/run.sh`) replayed
/// through the same entry as the fuzzer, `Fuzzing.fuzzOne`: a crash found once stays fixed.
/// A crash here kills the test process, which fails the run.
@Suite struct FuzzRegressionTests {
  static let directory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("fuzz/crashers")

  /// Kept inputs that cannot be replayed yet, because replaying them would kill or hang the
  /// test process: `fuzz/pending.txt`, `FILE: why` a line (fuzz/run.sh reads it too). Nothing
  /// is skipped that is not named there with a reason, and a name there whose file is gone
  /// fails `everyPendingEntryNamesAKeptInputAndSaysWhy`.
  static let pending: [String: String] = {
    let url = directory.deletingLastPathComponent().appendingPathComponent("pending.txt")
    let text = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
    var entries: [String: String] = [:]
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
      guard let colon = line.firstIndex(of: ":") else { continue }
      entries[String(line[..<colon])] = String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
    }
    return entries
  }()

  static var kept: [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
      .filter { !$0.hasPrefix(".") && $0 != "README.md" }.sorted()
  }

  // A kept input was a crash or a hang: a replay that hangs again fails at the limit.
  @Test(.timeLimit(.minutes(1)), arguments: kept.filter { pending[$0] == nil })
  func replaysWithoutCrashing(name: String) throws {
    let data = try Data(contentsOf: Self.directory.appendingPathComponent(name))
    // fuzzOne returns what it produced; any input produces at least a diagnostic or a build.
    #expect(Fuzzing.fuzzOne(Array(data)) > 0, "\(name)")
  }

  @Test func everyPendingEntryNamesAKeptInputAndSaysWhy() {
    for (name, reason) in Self.pending {
      #expect(Self.kept.contains(name), "\(name) is listed as pending but is not in fuzz/crashers/")
      #expect(!reason.isEmpty, "\(name) is pending without a reason")
    }
  }

  @Test func theCrashersDirectoryIsThere() {
    // An empty argument list would make the replay pass by running nothing: the directory
    // must at least exist where fuzz/run.sh writes.
    var isDirectory: ObjCBool = false
    #expect(FileManager.default.fileExists(atPath: Self.directory.path, isDirectory: &isDirectory) && isDirectory.boolValue)
  }
}
