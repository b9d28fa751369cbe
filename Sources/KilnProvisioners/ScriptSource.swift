import Foundation
public import KilnCore

/// What a shell-like plugin runs: inline lines, one script or several, decoded with Packer's
/// rule that exactly one of them is given and every script file exists.
public enum ScriptSource: Sendable, Equatable {
  case inline([String])
  case scripts([String])

  /// Reads `inline`, `script`, `scripts` (and `command` where `allowCommand`).
  public static func read(_ r: inout ConfigReader, allowCommand: Bool = false) -> ScriptSource? {
    var given: [String] = []
    var source: ScriptSource?
    if allowCommand, let command = r.string("command"), !command.isEmpty {
      r.warning("'command' is deprecated: use 'inline'", at: r.location(of: "command"))
      given.append("command")
      source = .inline([command])
    }
    if let node = r.member("inline")?.value, node.stringValue != nil {
      // Packer would split this string on commas; a command is almost never meant that way.
      r.warning("'inline' should be a list of commands; this string is run as one command", at: node.location)
      if let line = r.string("inline"), !line.isEmpty {
        given.append("inline")
        source = .inline([line])
      }
    } else if let lines = r.stringList("inline"), !lines.isEmpty {
      given.append("inline")
      source = .inline(lines)
    }
    var scripts: [String] = []
    if let script = r.string("script"), !script.isEmpty {
      given.append("script")
      scripts.append(script)
    }
    if let list = r.stringList("scripts"), !list.isEmpty {
      given.append("scripts")
      scripts += list
    }
    if !scripts.isEmpty {
      for script in scripts {
        r.checkExists(script, key: r.has("scripts") && !r.has("script") ? "scripts" : "script", what: "a script")
      }
      source = .scripts(scripts)
    }
    if given.count > 1 {
      r.error(
        "only one of \(allowCommand ? "'command', " : "")'inline', 'script' or 'scripts' can be set (found \(given.map { "'\($0)'" }.joined(separator: " and ")))",
        at: nil)
    } else if given.isEmpty, !["command", "inline", "script", "scripts"].contains(where: { Self.present(r, $0) }) {
      // (A key that is present but failed to render was reported already.)
      r.error("either a script file ('script', 'scripts') or 'inline' commands must be specified", at: nil)
    }
    return source
  }

  /// Whether `key` holds something non-empty as written (before rendering).
  static func present(_ r: ConfigReader, _ key: String) -> Bool {
    guard let node = r.member(key)?.value else { return false }
    switch node.value {
    case .string(let text): return !text.isEmpty
    case .array(let items): return !items.isEmpty
    case .null: return false
    default: return true
    }
  }

  /// Reads `environment_vars`, checking each is `KEY=value` with a key.
  public static func environment(_ r: inout ConfigReader) -> [(key: String, value: String)] {
    var result: [(key: String, value: String)] = []
    for entry in r.stringList("environment_vars") ?? [] {
      guard let equals = entry.firstIndex(of: "="), equals != entry.startIndex else {
        r.error(key: "environment_vars", "entry \"\(entry)\" is not in the form KEY=value")
        continue
      }
      result.append((String(entry[..<equals]), String(entry[entry.index(after: equals)...])))
    }
    for (key, value) in r.stringMap("env") ?? [] { result.append((key, value)) }
    return result
  }

  public static func exitCodes(_ r: inout ConfigReader) -> [Int] {
    guard let list = r.stringList("valid_exit_codes") else { return [0] }
    var codes: [Int] = []
    for text in list {
      guard let code = Int(text.trimmingCharacters(in: .whitespaces)) else {
        r.error(key: "valid_exit_codes", "contains \"\(text)\", which is not an integer")
        continue
      }
      codes.append(code)
    }
    return codes
  }
}

extension ScriptSource {
  /// The error of a script whose exit code is not in `valid_exit_codes`, in the words of
  /// Packer's `ErrorInvalidExitCode` (shell and shell-local alike), missing space included:
  /// "Script exited with non-zero exit status: 3.Allowed exit codes are: [0]".
  static func invalidExitCode(_ code: Int32, allowed: [Int]) -> BuildError {
    BuildError("Script exited with non-zero exit status: \(code).Allowed exit codes are: [\(allowed.map(String.init).joined(separator: " "))]")
  }
}
