import Foundation
public import KilnCore
import Synchronization

/// Environment variables as Packer builds them for scripts: `PACKER_BUILD_NAME`,
/// `PACKER_BUILDER_TYPE`, then the user's, sorted by name, values single-quote escaped
/// (`'` becomes `'"'"'`), each formatted with `env_var_format`.
enum ScriptEnvironment {
  static func pairs(_ user: [(key: String, value: String)], _ context: BuildContext, buildValues: [String: String], phase: RenderContext.Phase) throws
    -> [(String, String)]
  {
    var all: [String: String] = ["PACKER_BUILD_NAME": context.packerBuildName, "PACKER_BUILDER_TYPE": context.buildType]
    for (key, value) in user { all[key] = try context.render(value, phase: phase, buildValues: buildValues) }
    return all.keys.sorted().map { ($0, all[$0]!) }
  }

  static func format(_ pairs: [(String, String)], _ format: String) -> String {
    pairs.map { key, value in
      let escaped = value.replacingOccurrences(of: "'", with: "'\"'\"'")
      var line = format
      if let first = line.range(of: "%s") { line.replaceSubrange(first, with: key) }
      if let second = line.range(of: "%s") { line.replaceSubrange(second, with: escaped) }
      return line
    }.joined()
  }

  /// Writes inline commands to a local temporary script with the shebang, named `….sh` or,
  /// with `tempfile_extension` (shell-local), `….<extension>`. Written by
  /// `ChildProcess.writeExecutable`: shell-local runs it here, and a script written any other
  /// way could be held open by a child another build spawns meanwhile ("Text file busy").
  static func inlineScript(
    _ lines: [String], shebang: String, _ context: BuildContext, buildValues: [String: String], phase: RenderContext.Phase, fileExtension: String = ""
  ) async throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent(
      "kiln-inline-\(UUID().uuidString).\(fileExtension.isEmpty ? "sh" : fileExtension)")
    var text = "#!\(shebang)\n"
    for line in lines { text += try context.render(line, phase: phase, buildValues: buildValues) + "\n" }
    try await ChildProcess.writeExecutable(text, to: url.path)
    return url
  }
}

extension ShellProvisioner: RunnableProvisioner {
  public func provision(_ context: BuildContext, communicator: (any Communicator)?, buildValues: [String: String]) async throws {
    guard let communicator else { throw BuildError("the shell provisioner needs a connection to the machine") }
    let ui = context.ui
    let pairs = try ScriptEnvironment.pairs(environment, context, buildValues: buildValues, phase: .provisioner)
    var vars = ScriptEnvironment.format(pairs, envVarFormat)
    var envVarFile = ""
    var temporaries: [URL] = []
    defer { for url in temporaries { try? FileManager.default.removeItem(at: url) } }

    if useEnvVarFile {
      envVarFile = "\(remoteFolder)/varfile_\(Int.random(in: 0...9998)).sh"
      let local = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-vars-\(UUID().uuidString).sh")
      try vars.write(to: local, atomically: true, encoding: .utf8)
      temporaries.append(local)
      try await withStartRetry(ui) {
        try await communicator.upload(local.path, to: envVarFile, progress: nil)
        _ = try await communicator.run("chmod 0600 \(envVarFile)", output: { _ in })
      }
      vars = ""
    }

    let scripts: [(display: String, local: String)]
    switch source {
    case .inline(let lines):
      let url = try await ScriptEnvironment.inlineScript(lines, shebang: inlineShebang, context, buildValues: buildValues, phase: .provisioner)
      temporaries.append(url)
      scripts = [("inline script", url.path)]
    case .scripts(let paths):
      scripts = try paths.map { path in
        let rendered = try context.render(path, phase: .provisioner, buildValues: buildValues)
        return (rendered, rendered)
      }
    case nil:
      throw BuildError("the shell provisioner has nothing to run")
    }

    for (display, localPath) in scripts {
      ui.say("Provisioning with shell script: \(display)")
      var upload = localPath
      if !binary, let text = try? String(contentsOfFile: localPath, encoding: .utf8), text.contains("\r\n") {
        let converted = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-lf-\(UUID().uuidString).sh")
        try text.replacingOccurrences(of: "\r\n", with: "\n").write(to: converted, atomically: true, encoding: .utf8)
        temporaries.append(converted)
        upload = converted.path
      }
      let command = try context.render(
        executeCommand, phase: .provisioner, buildValues: buildValues,
        fields: ["Path": .string(remotePath), "Vars": .string(vars), "EnvVarFile": .string(envVarFile)])
      // Upload and start may be retried while the machine reboots; a command that ran is not.
      let uploaded = context.resources.record(
        "script \(remotePath) on the machine of build '\(context.buildName)'", by: .init(build: context.buildName, plugin: "shell"))
      try await withStartRetry(ui) {
        try await communicator.upload(upload, to: remotePath, progress: nil)
        try await communicator.setMode(remotePath, 0o755)
      }
      let result: RemoteCommandResult
      do {
        // Output goes to the console as bytes, batched (`BuildUI.outputSink`).
        result = try await communicator.run(command, into: ui.outputSink())
      } catch {
        // Interrupted or failed: still remove what was uploaded, shielded from the
        // cancellation and bounded, so a Ctrl-C leaves no script behind.
        if !skipClean {
          let paths = [remotePath, envVarFile].filter { !$0.isEmpty }
          ui.say("Cleaning up: removing \(paths.joined(separator: " ")) from the machine")
          await Self.removeShielded(paths, communicator)
          context.resources.settle(uploaded)
        }
        throw error
      }
      // Remove the script before judging the result (Packer leaves it behind on failure).
      if !skipClean {
        try await withStartRetry(ui) {
          try await communicator.remove([remotePath])
        }
        context.resources.settle(uploaded)
      }
      switch result {
      case .exited(let code) where validExitCodes.contains(Int(code)):
        break
      case .exited(let code):
        throw ScriptSource.invalidExitCode(code, allowed: validExitCodes)
      case .signaled(let signal):
        throw BuildError("Script was killed by signal \(signal)")
      case .disconnected(let reason):
        if !expectDisconnect {
          throw BuildError(
            "Script disconnected unexpectedly (\(reason)). If you expected your script to disconnect, i.e. from a restart, set \"expect_disconnect\": true"
          )
        }
        ui.say("Remote end disconnected while executing the script; expected, as \"expect_disconnect\" is set")
      }
    }
    if !envVarFile.isEmpty, !skipClean {
      try await withStartRetry(ui) { try await communicator.remove([envVarFile]) }
    }
    if pauseAfter > 0 {
      ui.say("Pausing \(Int(pauseAfter))s after this provisioner...")
      try await Task.sleep(for: .seconds(pauseAfter))
    }
  }

  /// Removes files in a task the build's cancellation does not reach, for at most 30 s.
  static func removeShielded(_ paths: [String], _ communicator: any Communicator) async {
    await Task.detached {
      await withTaskGroup(of: Void.self) { group in
        group.addTask { try? await communicator.remove(paths) }
        group.addTask { try? await Task.sleep(for: .seconds(30)) }
        await group.next()
        group.cancelAll()
      }
    }.value
  }

  /// Retries `work` every 2 s until `start_retry_timeout` (a machine rebooting between
  /// provisioners refuses connections for a while).
  func withStartRetry(_ ui: any BuildUI, _ work: () async throws -> Void) async throws {
    let deadline = ContinuousClock.now + .seconds(startRetryTimeout)
    while true {
      do {
        try await work()
        return
      } catch {
        if error is CancellationError || ContinuousClock.now >= deadline { throw error }
        ui.error("Retryable error: \(error)")
        try await Task.sleep(for: .seconds(2))
      }
    }
  }
}

extension FileProvisioner: RunnableProvisioner {
  public func provision(_ context: BuildContext, communicator: (any Communicator)?, buildValues: [String: String]) async throws {
    guard let communicator else { throw BuildError("the file provisioner needs a connection to the machine") }
    let ui = context.ui
    let destination = try context.render(self.destination, phase: .provisioner, buildValues: buildValues)
    if let content {
      let url = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-content-\(UUID().uuidString)")
      try context.render(content, phase: .provisioner, buildValues: buildValues).write(to: url, atomically: true, encoding: .utf8)
      defer { try? FileManager.default.removeItem(at: url) }
      ui.say("Uploading content to \(destination)")
      try await communicator.upload(url.path, to: destination, progress: nil)
      return
    }
    for source in sources {
      let path = try context.render(source, phase: .provisioner, buildValues: buildValues)
      switch direction {
      case .upload:
        ui.say("Uploading \(path) => \(destination)")
        do {
          try await communicator.upload(path, to: destination) { file, done, total in
            ui.progress("\((file as NSString).lastPathComponent): \(total > 0 ? done * 100 / total : 100)% of \(total / 1_048_576) MiB")
          }
        } catch {
          throw BuildError("Upload failed: \(error); this can occur when your file destination is a folder without a trailing slash")
        }
      case .download:
        ui.say("Downloading \(path) => \(destination)")
        try await communicator.download(path, to: destination) { file, done, total in
          ui.progress("\((file as NSString).lastPathComponent): \(total > 0 ? done * 100 / total : 100)% of \(total / 1_048_576) MiB")
        }
      }
    }
  }
}

extension BreakpointProvisioner: RunnableProvisioner {
  public func provision(_ context: BuildContext, communicator: (any Communicator)?, buildValues: [String: String]) async throws {
    if disable {
      context.ui.say("Breakpoint provisioner disabled; continuing")
      return
    }
    context.ui.say("Pausing at breakpoint provisioner\(note.isEmpty ? "" : " with note \"\(note)\""). Press enter to continue.")
    // Off the cooperative pool, and Ctrl-C (the task's cancellation) ends the wait.
    _ = try await StandardInput.readLine()
  }
}

/// Runs `shell-local` scripts on this machine, streaming their output.
enum LocalScriptRunner {
  static func run(_ config: ShellLocalConfig, _ context: BuildContext, buildValues: [String: String], phase: RenderContext.Phase) async throws {
    let ui = context.ui
    if !config.onlyOn.isEmpty, !config.onlyOn.contains("linux") {
      ui.say("Skipping shell-local due to only_on (\(config.onlyOn.joined(separator: ", ")))")
      return
    }
    let pairs = try ScriptEnvironment.pairs(config.environment, context, buildValues: buildValues, phase: phase)
    let vars = ScriptEnvironment.format(pairs, config.envVarFormat)
    // Each script as the user named it (what is printed), its absolute path (what runs, as
    // Packer's `filepath.Abs`), and `{{.Command}}`.
    var scripts: [(shown: String, path: String, command: String)] = []
    var temporary: URL?
    defer { if let temporary { try? FileManager.default.removeItem(at: temporary) } }
    switch config.source {
    case .inline(let lines):
      let url = try await ScriptEnvironment.inlineScript(
        lines, shebang: config.inlineShebang, context, buildValues: buildValues, phase: phase, fileExtension: config.tempfileExtension)
      temporary = url
      scripts = [(url.path, url.path, lines.joined(separator: "\n"))]
    case .scripts(let paths):
      let directory = URL(fileURLWithPath: context.workingDirectory, isDirectory: true)
      scripts = try paths.map {
        let path = try context.render($0, phase: phase, buildValues: buildValues)
        return (path, URL(fileURLWithPath: path, relativeTo: directory).standardizedFileURL.path, path)
      }
    case nil:
      throw BuildError("shell-local has nothing to run")
    }
    for (shown, script, command) in scripts {
      ui.say("Running local shell script: \(shown)")
      let arguments = try config.executeCommand.map {
        try context.render(
          $0, phase: phase, buildValues: buildValues, fields: ["Vars": .string(vars), "Script": .string(script), "Command": .string(command)])
      }
      var environment = context.environment
      for (key, value) in pairs { environment[key] = value }
      let code = try await runProcess(arguments, environment: environment, ui: ui)
      guard config.validExitCodes.contains(Int(code)) else {
        throw ScriptSource.invalidExitCode(code, allowed: config.validExitCodes)
      }
    }
  }

  /// Runs a process, streaming stdout as messages and stderr as errors; returns the exit
  /// code (128 + the signal for a killed process, as a shell reports it).
  static func runProcess(_ arguments: [String], environment: [String: String], ui: any BuildUI) async throws -> Int32 {
    guard let executable = arguments.first else { throw BuildError("execute_command is empty") }
    // A bare name is looked up on the script's PATH, by env, as Packer's exec.Command does.
    let absolute = executable.hasPrefix("/")
    let termination = try await ChildProcess.run(
      absolute ? executable : "/usr/bin/env", arguments: absolute ? Array(arguments.dropFirst()) : arguments,
      environment: environment
    ) { stream, line in
      switch stream {
      case .stdout: ui.message(line)
      case .stderr: ui.error(line)
      }
    }
    return termination.shellStatus
  }
}

extension ShellLocalProvisioner: RunnableProvisioner {
  public func provision(_ context: BuildContext, communicator: (any Communicator)?, buildValues: [String: String]) async throws {
    try await LocalScriptRunner.run(config, context, buildValues: buildValues, phase: .provisioner)
  }
}

extension ShellLocalConfig {
  /// Runs the configuration as a post-processor would (for `KilnPostProcessors`).
  public func runAsPostProcessor(_ context: BuildContext, buildValues: [String: String]) async throws {
    try await LocalScriptRunner.run(self, context, buildValues: buildValues, phase: .postProcessor)
  }
}
