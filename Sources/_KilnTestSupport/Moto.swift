public import Foundation

/// moto in server mode on loopback, with SigV4 signatures checked (see `moto_server.py`).
public final class MotoServer: @unchecked Sendable {
  public let server: LoopbackServer
  /// The access key moto created; requests signed with it (and its secret) are accepted.
  public let accessKeyID: String
  public let secretAccessKey: String
  public let requestLog: URL
  /// With `writeInstanceKeys`: an authorized_keys file holding the public keys of the key
  /// pairs of running instances, rewritten by moto after every EC2 request. A test sshd
  /// reading it accepts exactly what a launched instance would.
  public let instanceKeys: URL

  public var endpoint: URL { server.baseURL }

  /// - Parameter checkSignatures: false for the rare call moto's checker cannot take
  ///   (unsigned STS AssumeRoleWithWebIdentity, which AWS accepts).
  public init(checkSignatures: Bool = true, writeInstanceKeys: Bool = false) async throws {
    let directory = try Scratch.directory("kiln-moto")
    requestLog = directory.appendingPathComponent("requests.tsv")
    instanceKeys = directory.appendingPathComponent("instance_authorized_keys")
    var arguments = [requestLog.path]
    if !checkSignatures { arguments.append("--no-auth") }
    if writeInstanceKeys { arguments.append("--authorized-keys=\(instanceKeys.path)") }
    server = try await LoopbackServer(python: TestPaths.fixture("moto_server.py"), arguments: arguments, timeout: 60)
    accessKeyID = server.info["access_key_id"] as? String ?? ""
    secretAccessKey = server.info["secret_access_key"] as? String ?? ""
  }

  /// The requests moto received with `action`, in order: each one's form parameters
  /// (secret-looking values redacted by `moto_server.py`).
  public func requests(_ action: String) -> [[String: String]] {
    let text = (try? String(contentsOf: requestLog, encoding: .utf8)) ?? ""
    return text.split(separator: "\n").compactMap { line in
      let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
      guard fields.count >= 5, fields[2] == action else { return nil }
      return fields[4].split(separator: "&").reduce(into: [:]) { parameters, pair in
        let parts = pair.split(separator: "=", maxSplits: 1).map { $0.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0) }
        if let name = parts.first { parameters[name] = parts.count > 1 ? parts[1] : "" }
      }
    }
  }

  /// The EC2/STS actions moto received, in order (from its request log).
  public func actions() -> [(action: String, status: String)] {
    let text = (try? String(contentsOf: requestLog, encoding: .utf8)) ?? ""
    return text.split(separator: "\n").compactMap { line in
      let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
      return fields.count >= 4 ? (fields[2], fields[3]) : nil
    }
  }

  /// Does `operations` in this moto with boto3 (`moto_seed.py`: `put_parameter`,
  /// `register_image`) and returns each one's result (a parameter's version, an image id).
  public func seed(_ operations: [[String: Any]], region: String = "us-east-1") async throws -> [Any] {
    let json = String(decoding: try JSONSerialization.data(withJSONObject: operations), as: UTF8.self)
    let (status, output) = try await TestCommand.run(
      ["python3", TestPaths.fixture("moto_seed.py").path, endpoint.absoluteString, accessKeyID, secretAccessKey, region, json],
      includeStderr: false, timeout: 120)
    guard status == 0, let results = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [Any] else {
      throw SeedFailed(status: status, output: output)
    }
    return results
  }

  public struct SeedFailed: Error, CustomStringConvertible {
    public var status: Int32
    public var output: String
    public var description: String { "moto_seed.py exited \(status): \(output)" }
  }
}
