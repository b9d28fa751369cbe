import Foundation
import Synchronization

/// The debug log: on when `KILN_LOG` (or Packer's `PACKER_LOG`) is set to anything but "" or
/// "0"; written to `KILN_LOG_PATH` (or `PACKER_LOG_PATH`), else to standard error. Every line
/// carries a timestamp and passes the secret masker.
public final class DebugLog: Sendable {
  private let sink: Mutex<FileHandle?>
  private let masker: Mutex<SecretMasker>

  public init(environment: [String: String], masker: SecretMasker) {
    self.masker = Mutex(masker)
    let flag = environment["KILN_LOG"] ?? environment["PACKER_LOG"] ?? ""
    guard !flag.isEmpty, flag != "0" else {
      sink = Mutex(nil)
      return
    }
    let path = environment["KILN_LOG_PATH"] ?? environment["PACKER_LOG_PATH"] ?? ""
    if path.isEmpty {
      sink = Mutex(FileHandle.standardError)
    } else {
      _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
      let handle = FileHandle(forWritingAtPath: path)
      _ = try? handle?.seekToEnd()
      sink = Mutex(handle)
    }
  }

  public var isEnabled: Bool { sink.withLock { $0 != nil } }

  /// Masks `values` too from now on (secrets learnt after the log was opened: a data
  /// source's sensitive outputs).
  public func mask(_ values: [String]) { masker.withLock { $0.add(values) } }

  public func log(_ text: String) {
    let line = Date().formatted(.iso8601) + " " + masker.withLock { $0.mask(text) } + "\n"
    sink.withLock { $0?.write(Data(line.utf8)) }
  }
}
