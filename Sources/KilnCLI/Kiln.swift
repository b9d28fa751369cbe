public import ArgumentParser
import Foundation
import KilnBuilders
public import KilnCore
import KilnPostProcessors
import KilnProvisioners

/// The `kiln` command: Packer-compatible subcommands over the Kiln libraries.
public struct Kiln: AsyncParsableCommand {
  public static let configuration = CommandConfiguration(
    commandName: "kiln",
    abstract: "Build machine images from Packer JSON templates.",
    version: KilnVersion.kiln,
    subcommands: [
      BuildCommand.self, ValidateCommand.self, InspectCommand.self, SweepCommand.self, PruneCommand.self, VersionCommand.self, SSHBenchCommand.self,
      FmtCommand.self, Hcl2UpgradeCommand.self, OutputBenchCommand.self,
    ],
    // No short `-h` here: argument-parser reads an unknown single-dash word as grouped short
    // flags, so any typo containing an "h" (`-machine-readble`) asked for help and exited 0.
    // `normalize` turns a lone `-h` into `--help`. Subcommands inherit these names.
    helpNames: [.long, .customLong("help", withSingleDash: true)])

  public init() {}
}

extension Kiln {
  /// Parses the process's arguments and runs the command: what `kiln`'s `main` calls, so the
  /// executable needs no import of its own beyond this module.
  ///
  /// A usage error (an unknown flag, a missing template, a bad value) exits 1 as in Packer,
  /// not argument-parser's 64, after the message naming it and the usage; an unknown
  /// subcommand exits 127, as in Packer; help exits 0.
  public static func runFromCommandLine() async {
    let arguments = normalize(Array(CommandLine.arguments.dropFirst()))
    // An unknown subcommand is Packer's exit 127 (mitchellh/cli), after the list of commands.
    if let first = arguments.first, !first.hasPrefix("-"),
      !configuration.subcommands.contains(where: { $0.configuration.commandName == first })
    {
      FileHandle.standardError.write(Data("Error: unknown command \"\(first)\"\n\n\(helpMessage())\n".utf8))
      Foundation.exit(127)
    }
    do {
      var command = try parseAsRoot(arguments)
      if var asyncCommand = command as? any AsyncParsableCommand {
        try await asyncCommand.run()
      } else {
        try command.run()
      }
    } catch {
      if exitCode(for: error) == .validationFailure {
        FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
        Foundation.exit(1)
      }
      exit(withError: error)
    }
  }

  /// Packer accepts `-machine-readable` anywhere on the line, before the subcommand too;
  /// argument-parser wants flags after it, so move it there. A lone `-h` asks for help (see
  /// `helpNames`). Go's boolean flags are written bare or with a value (`-check`,
  /// `-check=true`, `-debug=false`, `-write`): a value Go's `strconv.ParseBool` takes is turned
  /// into what argument-parser expects (`goFlags`: the flag or nothing; `goBoolOptions`:
  /// `=true` or `=false`, and `=true` added to a bare one), anything else is left for
  /// argument-parser to refuse.
  /// Nothing after `--` is touched.
  static func normalize(_ arguments: [String]) -> [String] {
    let end = arguments.firstIndex(of: "--") ?? arguments.endIndex
    var options: [String] = []
    for argument in arguments[..<end] {
      if argument == "-h" {
        options.append("--help")
        continue
      }
      let (written, value) = split(argument)
      // Go takes one dash or two; Kiln's flags are declared with one.
      let name = written.hasPrefix("--") ? String(written.dropFirst()) : written
      // Bare is true; a value Go refuses is nil (left to argument-parser).
      let truth: Bool? = if let value { parseBool(value) } else { true }
      if goBoolOptions.contains(name), let truth {
        options.append("\(name)=\(truth)")
      } else if goFlags.contains(name), let truth {
        if truth { options.append(name) }
      } else {
        options.append(argument)
      }
    }
    let rest = arguments[end...]
    guard options.contains("-machine-readable") else { return options + rest }
    options.removeAll { $0 == "-machine-readable" }
    return options + ["-machine-readable"] + rest
  }

  /// Boolean flags that default to false (argument-parser `@Flag`s).
  static let goFlags: Set<String> = dashed([
    "check", "debug", "delete", "diff", "force", "machine-readable", "recursive", "skip-unchanged", "syntax-only", "timestamp-ui",
    "with-annotations",
  ])
  /// Boolean flags that are options taking true or false (`-color`, `-dry-run` and `-write`
  /// default to true): bare, they are `=true`.
  static let goBoolOptions: Set<String> = dashed(["color", "dry-run", "write"])

  private static func dashed(_ names: [String]) -> Set<String> { Set(names.map { "-" + $0 }) }

  /// `-name=value` as ("-name", "value"); anything else as (argument, nil).
  private static func split(_ argument: String) -> (String, String?) {
    guard argument.hasPrefix("-"), let equals = argument.firstIndex(of: "=") else { return (argument, nil) }
    return (String(argument[..<equals]), String(argument[argument.index(after: equals)...]))
  }

  /// Go's `strconv.ParseBool`: 1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False.
  static func parseBool(_ text: String) -> Bool? {
    switch text {
    case "1", "t", "T", "TRUE", "true", "True": true
    case "0", "f", "F", "FALSE", "false", "False": false
    default: nil
    }
  }
}

extension PluginRegistry {
  /// Every plugin Kiln has, by Packer type name.
  public static let kiln: PluginRegistry = {
    var registry = PluginRegistry()
    registry.registerBuilders()
    registry.registerProvisioners()
    registry.registerPostProcessors()
    return registry
  }()
}

let registry = PluginRegistry.kiln

/// Options shared by the commands that read variables, with Packer's spelling: `-var k=v`,
/// `-var-file=F` (both repeatable), also accepted with two dashes.
struct VariableOptions: ParsableArguments {
  @Option(
    name: [.customLong("var", withSingleDash: true), .customLong("var")],
    help: ArgumentHelp("Set a template variable (repeatable).", valueName: "name=value"))
  var vars: [String] = []

  @Option(
    name: [.customLong("var-file", withSingleDash: true), .customLong("var-file")],
    help: ArgumentHelp("JSON file of variable values (repeatable; later files win).", valueName: "path"))
  var varFiles: [String] = []

  func assignments() throws -> [VariableResolver.Assignment] {
    try vars.map { text in
      guard let assignment = VariableResolver.Assignment.parse(text) else {
        throw ValidationError("-var \(text): expected NAME=VALUE")
      }
      return assignment
    }
  }
}

extension ValidationOptions {
  /// The options a command's `-var`, `-var-file`, `-only` and `-except` give.
  init(_ variables: VariableOptions, _ filter: BuildFilterOptions) throws {
    self.init()
    assignments = try variables.assignments()
    variableFiles = variables.varFiles
    only = filter.onlyNames
    except = filter.exceptNames
  }
}

/// `-only` / `-except`, comma-separated and repeatable.
struct BuildFilterOptions: ParsableArguments {
  @Option(
    name: [.customLong("only", withSingleDash: true), .customLong("only")],
    help: ArgumentHelp("Only these builds (comma-separated).", valueName: "names"))
  var only: [String] = []

  @Option(
    name: [.customLong("except", withSingleDash: true), .customLong("except")],
    help: ArgumentHelp("All builds but these (comma-separated; post-processor names too).", valueName: "names"))
  var except: [String] = []

  var onlyNames: [String] { only.flatMap { $0.split(separator: ",").map(String.init) } }
  var exceptNames: [String] { except.flatMap { $0.split(separator: ",").map(String.init) } }

  func validate() throws {
    if !only.isEmpty, !except.isEmpty { throw ValidationError("-only and -except cannot be used together") }
  }
}

/// Writes lines to standard output or standard error, masking secrets.
struct Output {
  var masker = SecretMasker()

  func out(_ text: String) { FileHandle.standardOutput.write(Data((masker.mask(text) + "\n").utf8)) }
  func err(_ text: String) { FileHandle.standardError.write(Data((masker.mask(text) + "\n").utf8)) }

  /// A diagnostic with its message masked and its position left alone (a secret such as "1"
  /// must not eat the digits of a line number). A source line that holds a secret is dropped
  /// whole: masked, its caret would point at the wrong character.
  func masked(_ diagnostic: Diagnostic) -> Diagnostic {
    var copy = diagnostic
    copy.message = masker.mask(diagnostic.message)
    if let line = diagnostic.excerpt?.line, masker.mask(line) != line { copy.excerpt = nil }
    return copy
  }

  /// The diagnostic, then its source line and caret when it has them.
  func err(_ diagnostic: Diagnostic) {
    FileHandle.standardError.write(Data((masked(diagnostic).rendered + "\n").utf8))
  }
}
