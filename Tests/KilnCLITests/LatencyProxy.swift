import Foundation
import Testing
import _KilnTestSupport

/// `bench/latency_proxy.py` before an `EC2Lab`'s moto and sshd (issue #15's tests: capacity
/// fallback, the instance released while its image is pending), and what its logs say.
struct LatencyProxy {
  let server: LoopbackServer
  /// The proxy's SSH gate: refused until the instance has "booted".
  let sshPort: Int
  /// The proxy's `requests.tsv` (one line per call) and `holds.tsv` (each transitional state).
  let log: URL

  /// AWS's durations divided by `scale`; RunInstances refused for each `TYPE@AZ` in `noCapacity`.
  init(_ lab: EC2Lab, scale: Int, noCapacity: [String] = []) async throws {
    log = try Scratch.directory("kiln-latency")
    var arguments = [lab.moto.server.directory.appendingPathComponent("ready.json").path, "\(lab.sshd.port)", "\(scale)", log.path]
    if !noCapacity.isEmpty { arguments.append("--no-capacity=" + noCapacity.joined(separator: ",")) }
    server = try await LoopbackServer(
      python: TestPaths.repository.appendingPathComponent("bench/latency_proxy.py"), arguments: arguments, timeout: 60)
    sshPort = try #require(server.info["ssh_port"] as? Int)
  }

  /// Every EC2 call that reached the proxy: when, which, its HTTP status, and whether the
  /// proxy answered it itself (a refusal it made up).
  func requests() -> [(time: Double, action: String, status: String, byProxy: Bool)] {
    rows("requests.tsv").compactMap { fields in
      guard fields.count >= 4, let time = Double(fields[0]) else { return nil }
      return (time, fields[1], fields[2], fields[3] == "proxy")
    }
  }

  /// When the first call of `action` reached the proxy.
  func firstCall(_ action: String) -> Double? { requests().first { $0.action == action }?.time }

  /// When the proxy stopped holding the first image `pending` (its hold's end).
  func imageAvailableAt() -> Double? {
    rows("holds.tsv").first { $0.count >= 4 && $0[0] == "image" }.flatMap { Double($0[3]) }
  }

  private func rows(_ name: String) -> [[String]] {
    let text = (try? String(contentsOf: log.appendingPathComponent(name), encoding: .utf8)) ?? ""
    return text.split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
  }
}
