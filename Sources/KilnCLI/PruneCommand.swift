import ArgumentParser
import Foundation
import KilnAWS
import KilnBuilders
import KilnCore

/// `kiln prune`: keeps the newest AMIs a template's amazon-ebs builds made, deprecates and
/// then removes the older ones (see `ImagePruning`). A dry run unless `-dry-run=false`.
struct PruneCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "prune",
    abstract: "Keep the newest AMIs a template's builds made; deprecate and remove the older ones.",
    discussion: """
      Looks only at AMIs Kiln tagged with this template's file name and build name that finished \
      (kiln:state=complete), in each build's region and its ami_regions. The newest -keep stay; \
      an older one is deprecated -deprecate-after it was superseded and deregistered with its \
      snapshots -delete-after it was superseded, unless an instance was launched from it within \
      -delete-after of now. Prints the plan and changes nothing unless -dry-run=false.
      """)

  @OptionGroup var variables: VariableOptions
  @OptionGroup var filter: BuildFilterOptions

  @Option(name: [.customLong("keep", withSingleDash: true)], help: "How many of the newest AMIs to keep in each region.")
  var keep: Int

  @Option(
    name: [.customLong("deprecate-after", withSingleDash: true)], help: "Deprecate an AMI this long after it was superseded (a Go duration: 720h).")
  var deprecateAfter: String?

  @Option(
    name: [.customLong("delete-after", withSingleDash: true)],
    help: "Deregister an AMI and delete its snapshots this long after it was superseded, unless launched within as long.")
  var deleteAfter: String?

  @Option(name: [.customLong("dry-run", withSingleDash: true)], help: "Only print the plan (the default); -dry-run=false carries it out.")
  var dryRun = true

  @Argument(help: "The template file.")
  var template: String

  func validate() throws {
    guard keep >= 1 else { throw ValidationError("-keep must be at least 1, not \(keep)") }
    for (flag, value) in [("-deprecate-after", deprecateAfter), ("-delete-after", deleteAfter)] {
      if let value, (GoDuration.parse(value) ?? -1) < 0 {
        throw ValidationError("\(flag) must be a duration such as 720h or 90m, not \(value)")
      }
    }
  }

  func run() async throws {
    let options = try ValidationOptions(variables, filter)
    let validation = TemplateValidator.validate(path: template, options: options, registry: registry)
    let output = Output(masker: SecretMasker(validation.variables?.sensitiveValues ?? []))
    for diagnostic in validation.diagnostics.sorted { output.err(diagnostic) }
    guard !validation.diagnostics.hasErrors else { throw ExitCode.failure }
    let builds = validation.builds.compactMap { build in (build.builder as? AmazonEBSBuilder).map { (build.name, $0) } }
    guard !builds.isEmpty else { throw ValidationError("\(template) has no amazon-ebs build: nothing to prune") }

    let policy = ImagePruning.Policy(
      keep: keep, deprecateAfter: deprecateAfter.flatMap(GoDuration.parse), deleteAfter: deleteAfter.flatMap(GoDuration.parse))
    let templateName = URL(fileURLWithPath: template).lastPathComponent
    let log = AWSClientLog(debug: nil, console: { line in output.err("kiln prune: \(line)") })
    var problems: [String] = []
    for (name, builder) in builds {
      let pruning = ImagePruning(template: templateName, build: name, policy: policy)
      let aws: (region: String, caBundle: String?, make: (String) throws -> EC2Client)
      do {
        aws = try builder.clients(environment: ProcessInfo.processInfo.environment, sessionName: "kiln-prune", log: log)
      } catch {
        problems.append("build '\(name)': \(error)")
        continue
      }
      var regions: [String] = []
      for region in [aws.region] + builder.config.amiRegions where !regions.contains(region) { regions.append(region) }
      for region in regions {
        do {
          let client = try aws.make(region)
          for decision in try await pruning.plan(region: region, client: client) {
            output.out("\(name): \(ImagePruning.describe(decision))")
            guard !dryRun else { continue }
            do {
              try await pruning.apply(decision, client: client)
            } catch {
              problems.append("\(region) \(decision.image.imageID): \(error)")
            }
          }
        } catch {
          problems.append("could not look in \(region) for build '\(name)': \(error)")
        }
      }
    }
    if dryRun { output.out("Dry run: nothing was changed; run again with -dry-run=false to carry out the plan.") }
    if !problems.isEmpty {
      for problem in problems { output.err("error: \(problem)") }
      throw ExitCode.failure
    }
  }
}
