internal import CCurl
internal import CCurlShims
import Foundation

/// Process-wide libcurl state: `curl_global_init` exactly once, and what the library reports
/// about itself (version, TLS backend, protocols).
public enum CurlLibrary {
  /// Result of the one-time `curl_global_init(CURL_GLOBAL_DEFAULT)`.
  private static let initialization: Result<Void, CurlGlobalError> = {
    let code = curl_global_init(Int(CURL_GLOBAL_DEFAULT))
    if code == CURLE_OK { return .success(()) }
    return .failure(CurlGlobalError(message: String(cString: curl_easy_strerror(code))))
  }()

  /// Makes sure libcurl is initialised; every transport calls this before its first handle.
  public static func ensureInitialized() throws(CurlGlobalError) {
    try initialization.get()
  }

  /// What `curl_version_info` reports.
  public struct Info: Sendable, Equatable {
    public var version: String
    public var sslVersion: String?
    public var protocols: [String]
  }

  public static var info: Info {
    guard let data = CCurlShims_version_info_now() else {
      return Info(version: String(cString: curl_version()), sslVersion: nil, protocols: [])
    }
    var protocols: [String] = []
    if var cursor = data.pointee.protocols {
      while let name = cursor.pointee {
        protocols.append(String(cString: name))
        cursor += 1
      }
    }
    return Info(
      version: String(cString: data.pointee.version),
      sslVersion: data.pointee.ssl_version.map { String(cString: $0) },
      protocols: protocols)
  }
}

/// `curl_global_init` failed; the message is curl's own.
public struct CurlGlobalError: Error, CustomStringConvertible, Sendable {
  public let message: String
  public var description: String { "libcurl initialisation failed: \(message)" }
}
