import Foundation

/// One `packer fmt` run over files, directories and standard input (`kiln fmt`): which files
/// are looked at, what is printed and written, and the exit code, as Packer 1.9's
/// `command/fmt.go` and `hcl2template/formatter.go` do it.
///
/// - A directory gives its `*.pkr.hcl` and `*.pkrvars.hcl` files, in name order, and with
///   `recursive` its subdirectories' too; a file named directly is formatted whatever its
///   name; `-` is standard input.
/// - A file that does not parse is an error with HCL's diagnostics (Packer says only "failed
///   to parse"; the source line is shown too, except for a `.pkrvars.hcl` file, whose lines
///   may hold secrets), nothing is written, and the run goes on with the next file.
/// - A file the layout changes: its name is printed; with `write` it is rewritten (standard
///   input: the formatted text is printed); with `diff` a unified diff follows. `check`
///   turns `write` off. Standard input already formatted is printed back as it was.
/// - Exit: 1 when there was any error; otherwise 3 when `check` found a file to change (the
///   code Packer took from `terraform fmt`); otherwise 0.
public struct HCLFormatRun {
  public struct Options: Sendable {
    public var check = false
    public var diff = false
    public var write = true
    public var recursive = false
    public init() {}
  }

  public struct Outcome: Sendable {
    /// What goes to standard output.
    public var output: [UInt8] = []
    /// Problems, one rendered diagnostic each (with the source line and caret when known).
    public var errors: [String] = []
    /// Whether any file was (or, with `check`, would be) changed.
    public var changed = false
    /// Whether the run only checked.
    public var checked = false

    public var exitCode: Int32 { !errors.isEmpty ? 1 : checked && changed ? 3 : 0 }
  }

  public var options: Options
  /// Standard input, read when a path is `-`.
  public var readStandardInput: () -> [UInt8]

  public init(options: Options, readStandardInput: @escaping () -> [UInt8]) {
    self.options = options
    self.readStandardInput = readStandardInput
  }

  /// Formats every path given, in order.
  public func run(_ paths: [String]) -> Outcome {
    var outcome = Outcome()
    outcome.checked = options.check
    for path in paths { format(path: path, into: &outcome) }
    return outcome
  }

  static func isFormattable(_ name: String) -> Bool { name.hasSuffix(".pkr.hcl") || name.hasSuffix(".pkrvars.hcl") }

  private func format(path: String, into outcome: inout Outcome) {
    if path.isEmpty {
      outcome.errors.append("error: path is empty, cannot format")
      return
    }
    var isDirectory: ObjCBool = false
    guard path != "-", FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
      formatFile(path, into: &outcome)
      return
    }
    let names: [String]
    do {
      names = try FileManager.default.contentsOfDirectory(atPath: path).sorted()
    } catch {
      outcome.errors.append("error: \(path): cannot read the directory: \(error.localizedDescription)")
      return
    }
    for name in names {
      let child = Self.join(path, name)
      var childIsDirectory: ObjCBool = false
      _ = FileManager.default.fileExists(atPath: child, isDirectory: &childIsDirectory)
      if childIsDirectory.boolValue {
        if options.recursive { format(path: child, into: &outcome) }
      } else if Self.isFormattable(name) {
        formatFile(child, into: &outcome)
      }
    }
  }

  /// `directory/name` as Go's `filepath.Join` spells it (`./x` is `x`).
  static func join(_ directory: String, _ name: String) -> String {
    var directory = directory
    while directory.count > 1, directory.hasSuffix("/") { directory.removeLast() }
    if directory == "." || directory.isEmpty { return name }
    return directory == "/" ? "/" + name : directory + "/" + name
  }

  private func formatFile(_ path: String, into outcome: inout Outcome) {
    let standardInput = path == "-"
    let source: [UInt8]
    if standardInput {
      source = readStandardInput()
    } else {
      guard let data = FileManager.default.contents(atPath: path) else {
        outcome.errors.append("error: \(path): cannot read the file")
        return
      }
      source = [UInt8](data)
    }
    let (formatted, diagnostics) = HCLCanonicalFormat.format(source, filename: standardInput ? "<stdin>" : path)
    guard let formatted else {
      for diagnostic in diagnostics where diagnostic.severity == .error {
        // A variables file holds values, secrets among them: its lines are not echoed.
        outcome.errors.append(path.hasSuffix(".pkrvars.hcl") ? diagnostic.description : diagnostic.rendered(source: source))
      }
      return
    }
    if formatted == source {
      if standardInput { outcome.output += formatted }
      return
    }
    outcome.changed = true
    let write = options.write && !options.check
    if !standardInput { outcome.output += Array("\(path)\n".utf8) }
    if write {
      if standardInput {
        outcome.output += formatted
      } else {
        do {
          try Data(formatted).write(to: URL(fileURLWithPath: path))
        } catch {
          outcome.errors.append("error: \(path): cannot write the formatted file: \(error.localizedDescription)")
          return
        }
      }
    }
    if options.diff, !standardInput {
      outcome.output += Array(UnifiedDiff.lines(old: source, new: formatted, oldLabel: "old/\(path)", newLabel: "new/\(path)").utf8)
    }
  }
}
