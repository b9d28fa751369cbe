public import ArgumentParser
import KilnCore

/// The `kiln` command: Packer-compatible subcommands over the Kiln libraries.
public struct Kiln: AsyncParsableCommand {
  public static let configuration = CommandConfiguration(
    commandName: "kiln",
    abstract: "Build machine images from Packer JSON templates.",
    version: KilnVersion.kiln,
    subcommands: [VersionCommand.self])

  public init() {}
}

extension Kiln {
  /// Parses the process's arguments and runs the command: what `kiln`'s `main` calls, so the
  /// executable needs no import of its own beyond this module.
  public static func runFromCommandLine() async {
    await main()
  }
}
