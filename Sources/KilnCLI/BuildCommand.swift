import ArgumentParser
import Foundation
import KilnBuild
import KilnCore

struct BuildCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "build",
    abstract: "Run the builds of a template: builders, provisioners, post-processors.",
    discussion: "Exit code 0 only when every build succeeded. Ctrl-C cancels the builds and cleans up; a second Ctrl-C exits at once.")

  @OptionGroup var variables: VariableOptions
  @OptionGroup var filter: BuildFilterOptions

  @Flag(name: [.customLong("force", withSingleDash: true)], help: "Replace existing artifacts (and reset the manifest of an earlier run).")
  var force = false

  @Option(name: [.customLong("on-error", withSingleDash: true)], help: "cleanup (default), abort, ask or run-cleanup-provisioner.")
  var onError = "cleanup"

  @Option(name: [.customLong("parallel-builds", withSingleDash: true)], help: "How many builds at once (0: all).")
  var parallelBuilds = 0

  @Option(name: [.customLong("color", withSingleDash: true)], help: "Colour the output (true/false).")
  var color = true

  @Flag(name: [.customLong("timestamp-ui", withSingleDash: true)], help: "Prefix each line with a timestamp.")
  var timestampUI = false

  @Flag(name: [.customLong("machine-readable", withSingleDash: true)], help: "Packer's machine-readable output.")
  var machineReadable = false

  @Flag(name: [.customLong("debug", withSingleDash: true)], help: "Pause after each step and before each cleanup (builds run one at a time).")
  var debug = false

  @Flag(
    name: [.customLong("skip-unchanged", withSingleDash: true)],
    help: "Build nothing when AMIs built from the same inputs (template, variables, files, source AMI, Kiln) exist in every region.")
  var skipUnchanged = false

  @Option(
    name: [.customLong("events", withSingleDash: true)],
    help: ArgumentHelp("Write the run's events as JSON Lines to this file (- for standard output).", valueName: "file"))
  var events: String?

  @Argument(help: "The template file.")
  var template: String

  func validate() throws {
    guard BuildSession.OnError(rawValue: onError) != nil else {
      throw ValidationError("-on-error must be cleanup, abort, ask or run-cleanup-provisioner, not \(onError)")
    }
  }

  func run() async throws {
    let validationOptions = try ValidationOptions(variables, filter)
    let environment = ProcessInfo.processInfo.environment
    // An HCL template's data sources run now, their calls' retries in the debug log (which
    // masks the environment's AWS secrets, then the template's secrets once they are known:
    // sensitive variables and data source outputs).
    let log = DebugLog(environment: environment, masker: BuildSession.secretMasker(environment: environment))
    var callLog: (@Sendable (String) -> Void)?
    if log.isEnabled { callLog = { @Sendable text in log.log(text) } }
    let dataSources = PluginDataSourceEvaluator(
      registry: registry, context: DataSourceContext(environment: validationOptions.environment, debug: callLog))
    let validation = await TemplateValidator.validate(
      path: template, options: validationOptions, registry: registry, dataSources: dataSources)
    var uiOptions = ConsoleUI.Options()
    uiOptions.machineReadable = machineReadable
    uiOptions.color = color && !machineReadable && ProcessInfo.processInfo.environment["PACKER_NO_COLOR"] == nil && isatty(1) == 1
    uiOptions.timestamps = timestampUI
    uiOptions.progress = isatty(1) == 1 && !machineReadable
    let masker = BuildSession.secretMasker(for: validation, environment: environment)
    log.mask(masker.secrets)
    let stream = try events.map(Self.eventStream)
    let console = ConsoleUI(options: uiOptions, masker: masker, log: log.isEnabled ? log : nil, events: stream)
    if log.isEnabled { log.log("kiln \(KilnVersion.kiln) build \(template)") }

    let output = Output(masker: masker)
    for diagnostic in validation.diagnostics.sorted { output.err(diagnostic) }
    var options = BuildSession.Options(templatePath: template)
    options.force = force
    options.onError = BuildSession.OnError(rawValue: onError) ?? .cleanup
    options.parallelBuilds = parallelBuilds
    options.debug = debug
    options.skipUnchanged = skipUnchanged
    let session = BuildSession(
      validation: validation, validationOptions: validationOptions, options: options, console: console,
      log: log.isEnabled ? log : nil)
    switch await session.run() {
    case .invalid:
      throw ExitCode.failure
    case .cannotRun(let plugins):
      output.err("error: kiln validates these but cannot build with them yet: \(plugins.joined(separator: ", "))")
      throw ExitCode.failure
    case .ran(let report):
      Self.summarize(report, on: console)
      if !report.succeeded { throw ExitCode.failure }
    }
  }

  /// `-events PATH`: the file made afresh (0644), or standard output for `-`.
  static func eventStream(_ path: String) throws -> EventStream {
    let runUUID = UUID().uuidString.lowercased()
    if path == "-" {
      return EventStream(runUUID: runUUID) { FileHandle.standardOutput.write(Data($0.utf8)) }
    }
    let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else { throw ValidationError("-events \(path): \(String(cString: strerror(errno)))") }
    let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
    return EventStream(runUUID: runUUID) { handle.write(Data($0.utf8)) }
  }

  /// Packer's closing lines, in `command/build.go`'s order and words, so scripts that read
  /// them (or the `-machine-readable` records among them) see what Packer 1.6.6 writes: how
  /// each build ended, the wait, then the interrupt's outcome or the errors and artifacts.
  static func summarize(_ report: BuildReport, on console: ConsoleUI) {
    for build in report.builds {
      if let text = build.errorMessage {
        console.error("Build '\(build.name)' errored after \(Durafmt.limitFirstTwo(build.duration)): \(text)")
      } else {
        console.say("Build '\(build.name)' finished after \(Durafmt.limitFirstTwo(build.duration)).")
      }
    }
    console.say("\n==> Wait completed after \(Durafmt.limitFirstTwo(report.elapsed))")
    if report.interrupted {
      // "Cleanly" only when every cancelled build's cleanup finished and nothing recorded
      // as created (or asked for) is left: Packer says it whatever happened.
      let unfinished = report.unfinishedCleanups
      if unfinished.isEmpty && report.left.isEmpty {
        console.say("Cleanly cancelled builds after being interrupted.")
      } else {
        var lines = report.left.map { "  - " + $0 }
        if !unfinished.isEmpty {
          lines.append("  - whatever the failed cleanups of build(s) \(unfinished.map { "'\($0)'" }.joined(separator: ", ")) were removing (above)")
        }
        console.error(
          "Cancelled builds after being interrupted, but the cleanup did not finish. May be left behind (kiln tags what it creates in the cloud; `kiln sweep` finds it):\n"
            + lines.joined(separator: "\n"))
      }
      return
    }
    let errors = report.errors
    if !errors.isEmpty {
      console.machine(target: "", "error-count", [String(errors.count)])
      console.error("\n==> Some builds didn't complete successfully and had errors:")
      for (name, text) in errors {
        console.machine(target: name, "error", [text])
        console.error("--> \(name): \(text)")
      }
    }
    // Packer lists a build only when its run returned artifacts.
    let artifacts = report.artifacts.filter { !$0.artifacts.isEmpty }
    if artifacts.isEmpty {
      console.say("\n==> Builds finished but no artifacts were created.")
      return
    }
    console.say("\n==> Builds finished. The artifacts of successful builds are:")
    for (name, list) in artifacts {
      console.machine(target: name, "artifact-count", [String(list.count)])
      for (index, artifact) in list.enumerated() {
        let i = String(index)
        console.machine(target: name, "artifact", [i, "builder-id", artifact.builderID])
        console.machine(target: name, "artifact", [i, "id", artifact.id])
        console.machine(target: name, "artifact", [i, "string", artifact.summary])
        console.machine(target: name, "artifact", [i, "files-count", String(artifact.files.count)])
        for (j, file) in artifact.files.enumerated() { console.machine(target: name, "artifact", [i, "file", String(j), file]) }
        console.machine(target: name, "artifact", [i, "end"])
        console.say("--> \(name): \(artifact.summary)")
      }
    }
  }
}
