import Foundation
import Synchronization

/// `kiln build -events FILE`: what happens in a run, as JSON Lines for dashboards and CI.
///
/// One object per line, each with `time` (RFC 3339, UTC, milliseconds), `run` (the run's
/// UUID, `PACKER_RUN_UUID`), `type`, `build` when it concerns one build, and the type's own
/// fields. The types and their fields are defined by `schemas/kiln-events.schema.json`
/// (tests validate every line a successful, a failed and an interrupted build write):
///
/// | type | fields |
/// | --- | --- |
/// | `run-start` | `template`, `kiln_version`, `builds` |
/// | `build-start` | `build`, `builder` |
/// | `step-start`, `step-end` | `build`, `step`; `step-end`: `outcome` (succeeded, failed, cancelled), `seconds`, `error`? |
/// | `cleanup-start`, `cleanup-end` | `build`, `step`; `cleanup-end`: `outcome` (succeeded, failed), `error`? |
/// | `output` | `build`?, `level` (say, message, error), `text` |
/// | `progress` | `build`?, `text` (waits and uploads: "snapshot 40%") |
/// | `resource-created`, `resource-updated`, `resource-deleted` | `build`, `plugin`, `resource` |
/// | `interrupt` | `signal`, `count` |
/// | `artifact` | `build`, `index`, `builder_id`, `id`, `string`, `files` |
/// | `build-end` | `build`, `outcome` (succeeded, failed, cancelled), `seconds`, `error`? |
/// | `run-end` | `outcome` (succeeded, failed, cancelled), `seconds` |
///
/// Every string passes the run's secret masker before it is written, as console lines do.
public final class EventStream: Sendable {
  public enum Value: Sendable, Equatable {
    case string(String)
    case int(Int)
    case double(Double)
    case strings([String])
  }

  private let write: @Sendable (String) -> Void
  private let lock = Mutex(())
  public let runUUID: String

  /// - Parameter write: receives each line, newline included, one call per line.
  public init(runUUID: String, write: @escaping @Sendable (String) -> Void) {
    self.runUUID = runUUID
    self.write = write
  }

  /// Writes one event; `mask` is applied to every string in it.
  public func emit(_ type: String, build: String?, _ fields: [String: Value], mask: (String) -> String) {
    var object: [String: Any] = [
      "time": Date().formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)),
      "run": runUUID, "type": type,
    ]
    if let build { object["build"] = mask(build) }
    for (key, value) in fields {
      switch value {
      case .string(let text): object[key] = mask(text)
      case .int(let number): object[key] = number
      case .double(let number): object[key] = (number * 1000).rounded() / 1000
      case .strings(let list): object[key] = list.map(mask)
      }
    }
    guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
    let line = String(decoding: data, as: UTF8.self) + "\n"
    lock.withLock { _ in write(line) }
  }
}
