import Foundation
import KilnHCL

/// The functions an HCL template can call: the one place that says which table Kiln uses.
/// Exactly the functions Packer registers (`PackerFunctions`, in KilnHCL), with one clock per
/// run (`timestamp()` is the build's start, as `{{timestamp}}` is) and the run's environment.
enum HCLFunctions {
  /// Every function, for locals, sources, builds and data sources.
  static func table(baseDirectory: String, options: ValidationOptions) -> [String: HCLFunction] {
    PackerFunctions.table(context(baseDirectory: baseDirectory, options: options))
  }

  /// What a variable's `default` may call: `env` only, as in Packer.
  static func defaults(options: ValidationOptions) -> [String: HCLFunction] {
    PackerFunctions.variableDefaultFunctions(context(baseDirectory: ".", options: options))
  }

  private static func context(baseDirectory: String, options: ValidationOptions) -> PackerFunctionContext {
    PackerFunctionContext(baseDirectory: baseDirectory, now: options.clock.start, environment: options.environment)
  }
}
