import Foundation
import KilnAWS
import Testing
import _KilnTestSupport

/// Issue #15 item 3, end to end: the instance is terminated while its AMI is still pending
/// (once EC2 has the snapshots of its volumes), and the build still leaves nothing behind
/// after a success, a failure and a Ctrl-C. `kiln build` runs against moto behind
/// `bench/latency_proxy.py` at SCALE 10, which holds the image `pending` for seconds (moto
/// alone makes it `available` at once, so nothing could overlap), and the proxy's own logs
/// say when the termination was asked for and when the image stopped being pending.
///
/// Serialized: each row is a whole build with its own moto, sshd and proxy.
@Suite(.serialized) struct EarlyReleaseBuildTests {
  struct Latency {
    let lab: EC2Lab
    let proxy: LoopbackServer
    /// The proxy's `requests.tsv` and `holds.tsv`.
    let logsDirectory: URL

    init() async throws {
      lab = try await EC2Lab()
      let logs = try Scratch.directory("kiln-latency")
      let motoReady = lab.moto.server.directory.appendingPathComponent("ready.json").path
      proxy = try await LoopbackServer(
        python: TestPaths.repository.appendingPathComponent("bench/latency_proxy.py"),
        arguments: [motoReady, "\(lab.sshd.port)", "10", logs.path])
      logsDirectory = logs
    }

    var sshPort: Int { proxy.info["ssh_port"] as? Int ?? 0 }

    /// (epoch, action) of every EC2 call that reached the proxy.
    func requests() -> [(time: Double, action: String)] {
      let text = (try? String(contentsOf: logsDirectory.appendingPathComponent("requests.tsv"), encoding: .utf8)) ?? ""
      return text.split(separator: "\n").compactMap { line in
        let fields = line.split(separator: "\t")
        guard fields.count >= 2, let time = Double(fields[0]) else { return nil }
        return (time, String(fields[1]))
      }
    }

    /// When the proxy stopped holding the build-region image `pending` (its hold's end).
    func imageAvailableAt() -> Double? {
      let text = (try? String(contentsOf: logsDirectory.appendingPathComponent("holds.tsv"), encoding: .utf8)) ?? ""
      return text.split(separator: "\n").compactMap { line -> Double? in
        let fields = line.split(separator: "\t")
        guard fields.count >= 4, fields[0] == "image" else { return nil }
        return Double(fields[3])
      }.first
    }

    func firstCall(_ action: String) -> Double? { requests().first { $0.action == action }?.time }
  }

  @Test func theInstanceEndsWhileItsImageIsPendingAndNothingIsLeft() async throws {
    let latency = try await Latency()
    let before = try await latency.lab.snapshots()
    let path = try latency.lab.template(endpoint: latency.proxy.baseURL, sshPort: latency.sshPort)
    let result = try await latency.lab.build([path])
    let output = result.stdout + result.stderr
    #expect(result.status == 0, "\(output)")

    let terminated = try #require(latency.firstCall("TerminateInstances"), "\(output)")
    let available = try #require(latency.imageAvailableAt())
    #expect(terminated < available, "TerminateInstances at \(terminated), while the image was pending until \(available)")
    let keyDeleted = try #require(latency.firstCall("DeleteKeyPair"))
    let stopped = try #require(latency.firstCall("StopInstances"))
    #expect(keyDeleted < stopped, "the temporary key pair went as soon as the instance ran, before the stop")

    let left = try await latency.lab.leftovers(["us-east-1"], snapshotsBefore: before)
    #expect(left.filter { !$0.hasPrefix("AMI ") && !$0.hasPrefix("snapshot ") }.isEmpty, "left: \(left)\n\(output)")
    #expect(left.filter { $0.hasPrefix("AMI ") }.count == 1, "\(left)")
  }

  @Test func aFailureAfterTheInstanceWasReleasedStillLeavesNothing() async throws {
    let latency = try await Latency()
    let before = try await latency.lab.snapshots()
    // The copy to a second region is refused: the build fails after the early termination.
    let faults = try await LoopbackServer(python: TestPaths.fixture("fault_proxy.py"), arguments: [latency.proxy.baseURL.absoluteString])
    try await latency.lab.control(
      faults, ["fail_action": "CopyImage", "fail": 10, "status": 400, "code": "InvalidParameterValue", "message": "refused by the test"])
    let path = try latency.lab.template(endpoint: faults.baseURL, extra: #""ami_regions": ["us-west-2"]"#, sshPort: latency.sshPort)
    let result = try await latency.lab.build([path])
    let output = result.stdout + result.stderr
    #expect(result.status == 1, "\(output)")
    #expect(output.contains("refused by the test"), "\(output)")
    let terminated = try #require(latency.firstCall("TerminateInstances"), "\(output)")
    let available = try #require(latency.imageAvailableAt())
    #expect(terminated < available)
    let left = try await latency.lab.leftovers(snapshotsBefore: before)
    #expect(left.isEmpty, "a failed build left: \(left)\n\(output)")
  }

  @Test func aCtrlCWhileTheReleasedInstanceTerminatesLeavesNothing() async throws {
    let latency = try await Latency()
    let before = try await latency.lab.snapshots()
    let path = try latency.lab.template(endpoint: latency.proxy.baseURL, sshPort: latency.sshPort)
    let kiln = try await latency.lab.start([path])
    try await kiln.waitFor("Terminating the source AWS instance...")
    let available = try #require(latency.imageAvailableAt())
    #expect(Date().timeIntervalSince1970 < available, "interrupted while the image is still pending")
    kiln.interrupt()
    let status = try await kiln.finish()
    #expect(status != 0, "\(kiln.text)")
    let left = try await latency.lab.leftovers(["us-east-1"], snapshotsBefore: before)
    #expect(left.isEmpty, "an interrupted build left: \(left)\n\(kiln.text)")
  }
}
