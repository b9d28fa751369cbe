public import Foundation
import Synchronization

/// Temporary directories for tests, removed when the test process exits, so a run leaves
/// nothing in /tmp (a suite's `init` makes one per test, and a shared server's outlives every
/// test: no `deinit` would run in time).
public enum Scratch {
  private static let paths = Mutex<[String]>([])
  private static let registered = Mutex(false)

  /// A new, empty directory `<tmp>/<prefix>-<uuid>`.
  public static func directory(_ prefix: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    removeAtExit(url.path)
    return url
  }

  /// Removes `path` (a file or a directory tree) when the process exits.
  public static func removeAtExit(_ path: String) {
    paths.withLock { $0.append(path) }
    registered.withLock { done in
      guard !done else { return }
      done = true
      atexit {
        for path in Scratch.paths.withLock({ $0 }) { try? FileManager.default.removeItem(atPath: path) }
      }
    }
  }
}
