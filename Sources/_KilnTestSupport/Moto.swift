public import Foundation

/// moto in server mode on loopback, with SigV4 signatures checked (see `moto_server.py`).
public final class MotoServer: @unchecked Sendable {
  public let server: LoopbackServer
  /// The access key moto created; requests signed with it (and its secret) are accepted.
  public let accessKeyID: String
  public let secretAccessKey: String
  public let requestLog: URL

  public var endpoint: URL { server.baseURL }

  /// - Parameter checkSignatures: false for the rare call moto's checker cannot take
  ///   (unsigned STS AssumeRoleWithWebIdentity, which AWS accepts).
  public init(checkSignatures: Bool = true) throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-moto-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    requestLog = directory.appendingPathComponent("requests.tsv")
    server = try LoopbackServer(python: TestPaths.fixture("moto_server.py"), arguments: [requestLog.path] + (checkSignatures ? [] : ["--no-auth"]), timeout: 60)
    accessKeyID = server.info["access_key_id"] as? String ?? ""
    secretAccessKey = server.info["secret_access_key"] as? String ?? ""
  }

  /// The EC2/STS actions moto received, in order (from its request log).
  public func actions() -> [(action: String, status: String)] {
    let text = (try? String(contentsOf: requestLog, encoding: .utf8)) ?? ""
    return text.split(separator: "\n").compactMap { line in
      let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
      return fields.count >= 4 ? (fields[2], fields[3]) : nil
    }
  }
}
