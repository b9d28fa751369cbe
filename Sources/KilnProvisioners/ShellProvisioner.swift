import Foundation
public import KilnCore

/// Packer's remote `shell` provisioner (reference §4.1): uploads a script and runs it over the
/// build's communicator.
public struct ShellProvisioner: ProvisionerPlugin {
  public static let typeName = "shell"
  public static let needsCommunicator = true
  public static let lateKeys: [String: Set<String>] = ["execute_command": ["Path", "Vars", "EnvVarFile"]]

  public var source: ScriptSource?
  public var environment: [(key: String, value: String)]
  public var envVarFormat: String
  public var executeCommand: String
  public var inlineShebang: String
  public var remoteFolder: String
  public var remoteFile: String
  public var remotePath: String
  public var skipClean: Bool
  public var startRetryTimeout: Double
  public var expectDisconnect: Bool
  public var validExitCodes: [Int]
  public var pauseAfter: Double
  public var useEnvVarFile: Bool
  public var binary: Bool

  public init(from r: inout ConfigReader) {
    source = ScriptSource.read(&r)
    environment = ScriptSource.environment(&r)
    useEnvVarFile = r.bool("use_env_var_file") ?? false
    envVarFormat = r.string("env_var_format") ?? (useEnvVarFile ? "export %s='%s'\n" : "%s='%s' ")
    let defaultCommand = useEnvVarFile ? "chmod +x {{.Path}}; . {{.EnvVarFile}} && {{.Path}}" : "chmod +x {{.Path}}; {{.Vars}} {{.Path}}"
    executeCommand = r.string("execute_command") ?? defaultCommand
    inlineShebang = r.string("inline_shebang") ?? "/bin/sh -e"
    remoteFolder = r.string("remote_folder") ?? "/tmp"
    remoteFile = r.string("remote_file") ?? "script_\(Int.random(in: 0...9998)).sh"
    remotePath = r.string("remote_path") ?? ""
    if remotePath.isEmpty { remotePath = remoteFolder + "/" + remoteFile }
    skipClean = r.bool("skip_clean") ?? false
    startRetryTimeout = r.duration("start_retry_timeout") ?? 300
    expectDisconnect = r.bool("expect_disconnect") ?? false
    validExitCodes = ScriptSource.exitCodes(&r)
    pauseAfter = r.duration("pause_after") ?? 0
    binary = r.bool("binary") ?? false
    if envVarFormat.components(separatedBy: "%s").count != 3 {
      r.error(key: "env_var_format", "must contain exactly two %s (name and value), not \"\(envVarFormat)\"")
    }
  }
}

/// Packer's `file` provisioner (reference §4.2).
public struct FileProvisioner: ProvisionerPlugin {
  public static let typeName = "file"
  public static let needsCommunicator = true

  public enum Direction: String, Sendable { case upload, download }

  public var sources: [String]
  public var content: String?
  public var destination: String
  public var direction: Direction
  public var generated: Bool

  public init(from r: inout ConfigReader) {
    let single = r.string("source") ?? ""
    var list = r.stringList("sources") ?? []
    content = r.string("content")
    destination = r.requiredString("destination") ?? ""
    direction = Direction(rawValue: r.choice("direction", ["upload", "download"]) ?? "upload") ?? .upload
    generated = r.bool("generated") ?? false
    if !single.isEmpty {
      if !list.isEmpty { r.error("only one of 'source' or 'sources' can be specified", at: r.location(of: "sources")) }
      list = [single]
    }
    sources = list
    if sources.isEmpty, content == nil {
      r.error("a 'source', 'sources' or 'content' must be specified", at: nil)
    }
    if content != nil, !sources.isEmpty {
      r.error("'content' cannot be combined with 'source' or 'sources'", at: r.location(of: "content"))
    }
    if direction == .download, content != nil {
      r.error("'content' only works with \"direction\": \"upload\"", at: r.location(of: "content"))
    }
    if sources.count > 1, !destination.hasSuffix("/") {
      r.error(key: "destination", "must end with '/' (a directory) when several sources are given")
    }
    if direction == .upload, !generated {
      for path in sources where !path.contains("{{") {
        r.checkExists(path, key: r.has("source") ? "source" : "sources", what: "a source", directoryAllowed: true)
      }
    }
  }
}

/// Packer's `breakpoint` provisioner: pauses the build until Enter is pressed.
public struct BreakpointProvisioner: ProvisionerPlugin {
  public static let typeName = "breakpoint"

  public var disable: Bool
  public var note: String

  public init(from r: inout ConfigReader) {
    disable = r.bool("disable") ?? false
    note = r.string("note") ?? ""
  }
}
