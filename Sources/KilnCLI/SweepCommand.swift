import ArgumentParser
import Foundation
import KilnAWS
import KilnBuilders
import KilnCore

/// `kiln sweep`: lists, and with `-delete` removes, what amazon-ebs builds left in EC2 —
/// found by the `kiln:run` tag every build puts on what it creates. Packer has no such
/// thing: a SIGKILLed Packer leaves instances that must be found by hand.
struct SweepCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sweep",
    abstract: "List (or with -delete remove) what interrupted builds left in EC2, by Kiln's tags.",
    discussion: """
      Looks for open spot requests, instances, volumes, security groups, key pairs, AMIs and snapshots tagged kiln:run. \
      AMIs and snapshots of builds that completed (tagged kiln:state=complete) are never listed. \
      Credentials and region come from the environment or the profile, as for a build.
      """)

  @Option(name: [.customLong("region", withSingleDash: true)], help: "A region to sweep (repeatable, or comma-separated); default: AWS_REGION.")
  var regions: [String] = []

  @Option(name: [.customLong("run", withSingleDash: true)], help: "Only this run's resources (the build's PACKER_RUN_UUID, as in the kiln:run tag).")
  var run: String?

  @Option(
    name: [.customLong("older-than", withSingleDash: true)], help: "Only resources created longer ago than this (a Go duration such as 2h or 90m).")
  var olderThan: String?

  @Option(name: [.customLong("endpoint", withSingleDash: true)], help: "A custom EC2 endpoint (like custom_endpoint_ec2).")
  var endpoint: String?

  @Option(name: [.customLong("profile", withSingleDash: true)], help: "The AWS profile to use.")
  var profile: String?

  @Flag(name: [.customLong("delete", withSingleDash: true)], help: "Remove what is found (without it, only list).")
  var delete = false

  func validate() throws {
    if let olderThan, GoDuration.parse(olderThan) == nil {
      throw ValidationError("-older-than must be a duration such as 2h or 90m, not \(olderThan)")
    }
  }

  func run() async throws {
    var settings = CredentialsSettings()
    settings.profile = profile ?? ""
    var options = CurlHTTPClient.Options()
    options.caBundle = settings.caBundle
    let http = try CurlHTTPClient(options: options)
    // Retries are said once a call has been failing a while, as in a build (on stderr: stdout
    // is the list scripts read).
    let log = AWSClientLog(debug: nil, console: { line in FileHandle.standardError.write(Data("kiln sweep: \(line)\n".utf8)) })
    let credentials = try CredentialsChain(settings: settings, http: http, log: log)
    let variant = try settings.endpointVariant()
    var regions = self.regions.flatMap { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }.filter { !$0.isEmpty }
    if regions.isEmpty, let region = credentials.region() { regions = [region] }
    guard !regions.isEmpty else { throw ValidationError("no region: give -region or set AWS_REGION") }
    let cutoff = olderThan.flatMap(GoDuration.parse).map { Date().addingTimeInterval(-$0) }

    var problems: [String] = []
    var total = 0
    // Only regions that could be looked in may be called clean.
    var looked: [String] = []
    for region in regions {
      let found: [ResourceSweep.Leftover]
      let sweep: ResourceSweep
      do {
        sweep = ResourceSweep(
          client: try EC2Client(region: region, customEndpoint: endpoint, variant: variant, http: http, credentials: credentials, log: log), run: run,
          createdBefore: cutoff)
        found = try await sweep.find()
      } catch {
        problems.append("could not look in \(region), so what builds left there is unknown: \(error)")
        continue
      }
      looked.append(region)
      total += found.count
      for item in found { print("\(delete ? "removing" : "left"): \(item)") }
      if delete, !found.isEmpty {
        problems += await sweep.remove(found) { print("  \($0)") }
      }
    }
    if total == 0, !looked.isEmpty {
      print("Nothing left by kiln builds\(run.map { " of run \($0)" } ?? "") in \(looked.joined(separator: ", ")).")
    } else if total > 0, !delete {
      print("\(total) resource(s) left; run again with -delete to remove them.")
    }
    if !problems.isEmpty {
      for problem in problems { FileHandle.standardError.write(Data("error: \(problem)\n".utf8)) }
      throw ExitCode.failure
    }
  }
}
