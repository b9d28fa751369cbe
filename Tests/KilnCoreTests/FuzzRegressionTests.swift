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
  /// test process, each with why. Nothing is skipped that is not named here, and a name here
  /// whose file is gone fails `everyPendingEntryNamesAKeptInput`.
  static let pending: [String: String] = [:]

  static var kept: [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
      .filter { !$0.hasPrefix(".") && $0 != "README.md" }.sorted()
  }

  @Test(arguments: kept.filter { pending[$0] == nil })
  func replaysWithoutCrashing(name: String) throws {
    let data = try Data(contentsOf: Self.directory.appendingPathComponent(name))
    // fuzzOne returns what it produced; any input produces at least a diagnostic or a build.
    #expect(Fuzzing.fuzzOne(Array(data)) > 0, "\(name)")
  }

  @Test func everyPendingEntryNamesAKeptInput() {
    for name in Self.pending.keys {
      #expect(Self.kept.contains(name), "\(name) is listed as pending but is not in fuzz/crashers/")
    }
  }

  @Test func theCrashersDirectoryIsThere() {
    // An empty argument list would make the replay pass by running nothing: the directory
    // must at least exist where fuzz/run.sh writes.
    var isDirectory: ObjCBool = false
    #expect(FileManager.default.fileExists(atPath: Self.directory.path, isDirectory: &isDirectory) && isDirectory.boolValue)
  }
}
