/// Every function the `{{ }}` engine knows: Packer's template functions and Go
/// `text/template`'s built-ins, with the number of arguments each takes.
///
/// This enum is the one list. The parser accepts a word as a function only when it names a
/// case here (anything else is "function not defined", with a suggestion drawn from this
/// list); the evaluator checks the arity here and then switches over the case exhaustively,
/// so a function added to the table without an implementation does not compile, and one
/// implemented without an entry cannot be reached.
public enum InterpolationFunction: String, CaseIterable, Sendable {
  // Packer's functions (packer/template/interpolate/funcs.go in 1.6.6).
  case user, env, timestamp, isotime, strftime, uuid
  case cleanResourceName = "clean_resource_name"
  case cleanAMIName = "clean_ami_name"
  case buildName = "build_name"
  case buildType = "build_type"
  case templateDir = "template_dir"
  case pwd
  case packerVersion = "packer_version"
  case split, replace
  case replaceAll = "replace_all"
  case lower, upper, build, sed
  case consulKey = "consul_key"
  case vault
  case awsSecretsManager = "aws_secretsmanager"
  case awsSecretsManagerRaw = "aws_secretsmanager_raw"
  // Go text/template's built-ins.
  case and, or, not, eq, ne, lt, le, gt, ge, len, index, print, printf, println, urlquery, html, js

  /// The template name, as written between the braces.
  public var name: String { rawValue }

  /// How many arguments a call takes; `nil` where the function says more than a count would
  /// (`sed` and the secret stores answer any call with why they cannot be used).
  public var arity: ClosedRange<Int>? {
    switch self {
    case .timestamp, .uuid, .buildName, .buildType, .templateDir, .pwd, .packerVersion: 0...0
    case .isotime: 0...1
    case .user, .env, .strftime, .cleanResourceName, .cleanAMIName, .lower, .upper, .build, .not, .len: 1...1
    case .ne, .lt, .le, .gt, .ge: 2...2
    case .eq: 2...Int.max
    case .split, .replaceAll: 3...3
    case .replace: 4...4
    case .and, .or, .index, .printf: 1...Int.max
    case .print, .println, .urlquery, .html, .js: 0...Int.max
    case .sed, .consulKey, .vault, .awsSecretsManager, .awsSecretsManagerRaw: nil
    }
  }

  /// The names, for suggestions ("did you mean …?").
  public static let names: Set<String> = Set(allCases.map(\.rawValue))
}
