import Foundation
import KilnHCL

/// The functions an HCL template can call: the one place that says which table Kiln uses.
enum HCLFunctions {
  /// Every function, for locals, sources, builds and data sources.
  static func table(baseDirectory: String, environment: [String: String]) -> [String: HCLFunction] {
    var table = HCLStandardFunction.table
    if table["env"] == nil { table["env"] = env(environment) }
    return table
  }

  /// What a variable's `default` may call: `env` only, as in Packer.
  static func defaults(environment: [String: String]) -> [String: HCLFunction] {
    let all = table(baseDirectory: ".", environment: environment)
    return all.filter { $0.key == "env" }
  }

  /// `env(name)`: the variable's value, or "" when it is not set (Packer's `EnvFunc`).
  static func env(_ environment: [String: String]) -> HCLFunction {
    HCLFunction(
      parameters: [.init("key", .string)], returnType: .string,
      body: .values { arguments, _ in
        guard case .string(let name) = arguments.first else { return .unknown(.string) }
        return .string(environment[name] ?? "")
      })
  }
}
