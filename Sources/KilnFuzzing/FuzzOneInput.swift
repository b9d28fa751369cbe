import Foundation
import KilnCLI
public import KilnCore
import KilnUpgrade

import enum KilnHCL.HCLCanonicalFormat

/// One fuzz input through every stage that reads untrusted text, as `kiln validate` would,
/// without the network, the process environment or the file system beyond `stat`:
/// the JSON reader, the template loader, the interpolation engine (every string of the
/// document parsed, then rendered with a fixed context), and plugin decoding through the
/// registry (`TemplateValidator` with every plugin Kiln has), `kiln hcl2_upgrade` of the loaded
/// template and `kiln fmt`'s layout of the bytes. Every diagnostic is rendered as the CLI
/// would print it.
///
/// The libFuzzer target (`kiln-fuzz`) calls it for each input, and `FuzzRegressionTests`
/// replays every file under `fuzz/crashers/` through it: a crash found once stays a test.
public enum Fuzzing {
  /// Every plugin Kiln has, as `kiln validate` decodes with.
  public static var registry: PluginRegistry { .kiln }

  /// A fixed clock, environment and directories, so an input always does the same.
  static let options: ValidationOptions = {
    var options = ValidationOptions()
    options.environment = ["HOME": "/nonexistent", "FUZZ": "x"]
    options.workingDirectory = "/nonexistent/kiln-fuzz"
    options.clock = BuildClock(start: Date(timeIntervalSince1970: 1_700_000_000))
    return options
  }()

  static let context = RenderContext(
    phase: .variables, clock: options.clock, variables: ["a": "1", "b": "two"], declaredVariables: ["a", "b"],
    environment: options.environment, templateDirectory: "/nonexistent", workingDirectory: options.workingDirectory)

  /// Runs one input; returns a count of what it produced (so nothing is optimised away).
  @discardableResult
  public static func fuzzOne(_ bytes: [UInt8]) -> Int {
    var produced = 0
    let file = SourceFile(path: "fuzz.json", bytes: bytes)

    // The JSON reader, and the interpolation engine over every string it found.
    do {
      let read = try JSONReader.read(file)
      produced += read.duplicateKeys.map(\.rendered.utf8.count).reduce(0, +)
      produced += interpolateStrings(in: read.root)
    } catch {
      produced += error.rendered.utf8.count
    }

    // Plugin decoding, through the loader (the validator loads the file itself).
    var options = Self.options
    let validation = TemplateValidator.validate(file, options: options, registry: registry)
    produced += validation.builds.count
    for diagnostic in validation.diagnostics.sorted { produced += diagnostic.rendered.utf8.count }
    // Again with -syntax-only, which checks every expression without rendering it.
    options.syntaxOnly = true
    produced += TemplateValidator.validate(file, options: options, registry: registry).diagnostics.items.count

    // `kiln hcl2_upgrade` of what loaded, and `kiln fmt` of the bytes as they are.
    if let template = TemplateLoader.load(file).template {
      let (text, warnings) = HCL2Upgrade.upgrade(template, withAnnotations: true)
      produced += text.count + warnings.count
    }
    produced += HCLCanonicalFormat.formatTokens(bytes).count
    return produced
  }

  static func interpolateStrings(in node: JSONNode) -> Int {
    switch node.value {
    case .string(let text):
      return interpolate(text) + text.utf8.count
    case .array(let elements):
      return elements.map(interpolateStrings).reduce(0, +)
    case .object(let members):
      return members.map { interpolate($0.key) + interpolateStrings(in: $0.value) }.reduce(0, +)
    default:
      return 0
    }
  }

  static func interpolate(_ text: String) -> Int {
    guard text.contains("{{") else { return 0 }
    do {
      try Interpolator.check(text)
    } catch {
      return error.message.utf8.count
    }
    var produced = 0
    for phase in [RenderContext.Phase.variables, .builder, .provisioner] {
      var context = Self.context
      context.phase = phase
      do {
        produced += try Interpolator.render(text, in: context).output.utf8.count
      } catch {
        produced += error.message.utf8.count
      }
    }
    return produced
  }
}
