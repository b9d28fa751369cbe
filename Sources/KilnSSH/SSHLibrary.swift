internal import CLibSSH2

/// Process-wide libssh2 state: `libssh2_init` exactly once, and the library's version.
public enum SSHLibrary {
  private static let initialization: Int32 = libssh2_init(0)

  /// Makes sure libssh2 is initialised; every session calls this before its first handle.
  public static func ensureInitialized() throws(SSHLibraryError) {
    if initialization != 0 {
      throw SSHLibraryError(message: "libssh2_init returned \(initialization)")
    }
  }

  /// The version of the libssh2 this process runs with, e.g. "1.10.0".
  public static var version: String {
    guard let text = libssh2_version(0) else { return "unknown" }
    return String(cString: text)
  }
}

public struct SSHLibraryError: Error, CustomStringConvertible, Sendable {
  public let message: String
  public var description: String { "libssh2: \(message)" }
}
