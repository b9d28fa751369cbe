import Foundation

/// The AWS CLI's shared files: `~/.aws/credentials` (sections `[name]`) and `~/.aws/config`
/// (sections `[profile name]`, and `[default]`), merged per profile; the credentials file wins
/// for keys in both.
public struct SharedConfigFiles: Sendable {
  public var credentialsPath: String
  public var configPath: String
  public private(set) var profiles: [String: [String: String]] = [:]
  /// Which files existed, for the "tried" list of an error.
  public private(set) var found: [String] = []

  public init(credentialsPath: String, configPath: String) {
    self.credentialsPath = credentialsPath
    self.configPath = configPath
    if let text = try? String(contentsOfFile: configPath, encoding: .utf8) {
      found.append(configPath)
      for (section, values) in Self.parse(text) {
        let name =
          section == "default" ? "default" : section.hasPrefix("profile ") ? String(section.dropFirst(8)).trimmingCharacters(in: .whitespaces) : nil
        guard let name else { continue } // sso-session, services, ...
        profiles[name, default: [:]].merge(values) { old, _ in old }
      }
    }
    if let text = try? String(contentsOfFile: credentialsPath, encoding: .utf8) {
      found.append(credentialsPath)
      for (section, values) in Self.parse(text) {
        profiles[section, default: [:]].merge(values) { _, new in new }
      }
    }
  }

  /// The files named by the environment (or the defaults under `home`).
  public init(environment: [String: String], home: String, credentialsPath: String? = nil) {
    func named(_ value: String?) -> String? { value.flatMap { $0.isEmpty ? nil : $0 } }
    let credentials = named(credentialsPath) ?? named(environment["AWS_SHARED_CREDENTIALS_FILE"]) ?? "\(home)/.aws/credentials"
    let config = named(environment["AWS_CONFIG_FILE"]) ?? "\(home)/.aws/config"
    self.init(credentialsPath: Self.expand(credentials, home: home), configPath: Self.expand(config, home: home))
  }

  /// `~` and `~/…` from `home`, as the AWS CLI expands paths (from `HOME`).
  static func expand(_ path: String, home: String) -> String {
    path == "~" || path.hasPrefix("~/") ? home + path.dropFirst(1) : path
  }

  /// INI: `[section]`, `key = value`, `#`/`;` comments; indented lines continue a value
  /// (nested settings such as `s3 =` are kept as written).
  static func parse(_ text: String) -> [(String, [String: String])] {
    var sections: [(String, [String: String])] = []
    var lastKey: String?
    for rawLine in text.split(whereSeparator: \.isNewline) {
      let line = rawLine.trimmingCharacters(in: .whitespaces)
      if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
      if line.hasPrefix("[") && line.hasSuffix("]") {
        sections.append((String(line.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces), [:]))
        lastKey = nil
        continue
      }
      guard !sections.isEmpty else { continue }
      if rawLine.first == " " || rawLine.first == "\t", let key = lastKey {
        sections[sections.count - 1].1[key, default: ""] += "\n" + line
        continue
      }
      guard let equals = line.firstIndex(of: "=") else { continue }
      let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
      let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
      sections[sections.count - 1].1[key] = value
      lastKey = key
    }
    return sections
  }
}
