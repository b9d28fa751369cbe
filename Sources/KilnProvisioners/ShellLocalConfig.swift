public import KilnCore

/// The options `shell-local` shares as a provisioner and as a post-processor (Packer SDK
/// `shell-local/config.go`): runs on the machine running Kiln.
public struct ShellLocalConfig: Sendable {
  public static let lateKeys: [String: Set<String>] = ["execute_command": ["Script", "Command", "Vars"]]

  public var source: ScriptSource?
  public var environment: [(key: String, value: String)]
  public var envVarFormat: String
  public var executeCommand: [String]
  public var inlineShebang: String
  public var onlyOn: [String]
  public var tempfileExtension: String
  public var validExitCodes: [Int]

  public init(from r: inout ConfigReader, postProcessor: Bool) {
    source = ScriptSource.read(&r, allowCommand: true)
    environment = ScriptSource.environment(&r)
    envVarFormat = r.string("env_var_format") ?? "%s='%s' "
    if let node = r.member("execute_command")?.value, node.stringValue != nil, postProcessor {
      // Packer's post-processor accepts a single string and runs it with `sh -c`.
      executeCommand = ["/bin/sh", "-c", r.string("execute_command") ?? ""]
    } else {
      executeCommand = r.stringList("execute_command") ?? ["/bin/sh", "-c", "{{.Vars}} {{.Script}}"]
    }
    if executeCommand.isEmpty {
      r.error(key: "execute_command", "must not be empty")
    }
    inlineShebang = r.string("inline_shebang") ?? "/bin/sh -e"
    onlyOn = r.stringList("only_on") ?? []
    let known = ["linux", "darwin", "freebsd", "openbsd", "netbsd", "windows", "solaris"]
    for os in onlyOn where !known.contains(os) {
      r.error(key: "only_on", "contains \"\(os)\", which is not an operating system name (\(known.joined(separator: ", ")))")
    }
    // Packer's form is "ps1"; ".ps1" names the same file.
    tempfileExtension = String((r.string("tempfile_extension") ?? "").drop { $0 == "." })
    r.acceptWithoutEffect("use_linux_pathing", because: "it converts paths for Windows Subsystem for Linux, and kiln runs on Linux only")
    validExitCodes = ScriptSource.exitCodes(&r)
  }
}

/// Packer's `shell-local` provisioner.
public struct ShellLocalProvisioner: ProvisionerPlugin {
  public static let typeName = "shell-local"
  public static var lateKeys: [String: Set<String>] { ShellLocalConfig.lateKeys }

  public var config: ShellLocalConfig

  public init(from r: inout ConfigReader) {
    config = ShellLocalConfig(from: &r, postProcessor: false)
  }
}

extension PluginRegistry {
  /// Registers the provisioners of this module.
  public mutating func registerProvisioners() {
    register(provisioner: ShellProvisioner.self)
    register(provisioner: FileProvisioner.self)
    register(provisioner: ShellLocalProvisioner.self)
    register(provisioner: BreakpointProvisioner.self)
  }
}
