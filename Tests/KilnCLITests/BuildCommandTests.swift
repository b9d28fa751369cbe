import Foundation
import KilnCore
import KilnPostProcessors
import KilnSSH
import Synchronization
import Testing
import _KilnTestSupport

/// `kiln build` with the null builder, end to end: the binary, a real sshd on loopback, real
/// files, a real manifest.
@Suite struct BuildCommandTests {
  static let key = Result { try SSHKeyPair.generateEd25519(comment: "kiln-build-tests") }
  static let server = Shared { try await SSHServer(authorizing: [try key.get().publicKeyLine]) }

  let work: URL
  let remote: String
  let keyFile: String

  init() throws {
    work = try Scratch.directory("kiln-build")
    try FileManager.default.createDirectory(at: work.appendingPathComponent("files/sub"), withIntermediateDirectories: true)
    // The "machine" is this one: what the builds make there goes at exit too.
    remote = "/tmp/kiln-e2e-\(UUID().uuidString)"
    for suffix in ["", "-scripts", "-failing", "-attempts", "-sigint", "-ask"] { Scratch.removeAtExit(remote + suffix) }
    keyFile = work.appendingPathComponent("id_ed25519").path
    try Self.key.get().write(to: keyFile)
  }

  func template(_ provisioners: String, postProcessors: String = "[]") async throws -> String {
    let server = try await Self.server.get()
    let text = """
      {
        "variables": {"greeting": "hello world", "secret": "s3cr3t-value", "remote": "\(remote)"},
        "sensitive-variables": ["secret"],
        "builders": [{
          "type": "null", "name": "local-ssh", "ssh_host": "127.0.0.1", "ssh_port": \(server.port),
          "ssh_username": "\(server.user)", "ssh_private_key_file": "\(keyFile)", "ssh_timeout": "30s"
        }],
        "provisioners": \(provisioners),
        "post-processors": \(postProcessors)
      }
      """
    let path = work.appendingPathComponent("template.json").path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  func remoteLines(_ command: String) async throws -> [String] {
    let server = try await Self.server.get()
    let session = try await SSHSession.connect(
      SSHConnectionConfig(
        host: "127.0.0.1", port: server.port, username: server.user, authentication: [.privateKey(pem: try Self.key.get().privateKeyPEM)]))
    let lines = LinesBox()
    _ = try await session.run(command) { if case .stdout(let text) = $0 { lines.append(text) } }
    return lines.all
  }

  @Test func provisionsOverSSHAndWritesTheManifest() async throws {
    try "from the file provisioner\n".write(to: work.appendingPathComponent("files/sub/hello.txt"), atomically: true, encoding: .utf8)
    let script = work.appendingPathComponent("script.sh").path
    try
      "#!/bin/sh\nset -e\necho \"script sees $PACKER_BUILD_NAME/$PACKER_BUILDER_TYPE\"\nprintf made > \"$REMOTE/made-remotely.txt\"\necho to-stderr >&2\n"
      .write(toFile: script, atomically: true, encoding: .utf8)
    let path = try await template(
      #"""
      [
        {"type": "shell", "remote_folder": "{{user `remote`}}-scripts",
         "inline": ["mkdir -p {{user `remote`}}", "echo \"$GREETING from $(id -un)\"", "echo \"secret is $SECRET\""],
         "environment_vars": ["GREETING={{user `greeting`}} it's \"quoted\"", "SECRET={{user `secret`}}"]},
        {"type": "file", "source": "\#(work.path)/files/", "destination": "{{user `remote`}}/"},
        {"type": "shell", "script": "\#(script)", "environment_vars": ["REMOTE={{user `remote`}}"], "remote_folder": "{{user `remote`}}-scripts"},
        {"type": "file", "direction": "download", "source": "{{user `remote`}}/made-remotely.txt", "destination": "\#(work.path)/downloaded.txt"},
        {"type": "shell-local", "inline": ["echo local sees {{build `Host`}}"]}
      ]
      """#,
      postProcessors:
        #"[{"type": "manifest", "output": "\#(work.path)/manifest.json", "custom_data": {"greeting": "{{user `greeting`}}", "secret": "{{user `secret`}}"}}]"#
    )
    _ = try await remoteLines("mkdir -p \(remote)-scripts")
    let result = try await KilnProcess.run(["build", "-color=false", path], in: work)
    #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
    let out = result.stdout
    #expect(out.contains("==> local-ssh: Connected to SSH!"))
    #expect(out.contains("    local-ssh: hello world it's \"quoted\" from \(try await Self.server.get().user)"))
    #expect(out.contains("    local-ssh: secret is <sensitive>"))
    #expect(out.contains("    local-ssh: script sees local-ssh/null"))
    #expect(out.contains("==> local-ssh: to-stderr"))
    #expect(out.contains("    local-ssh: local sees 127.0.0.1"))
    #expect(out.contains("--> local-ssh: Did not export anything. This is the null builder"))
    #expect(!out.contains("s3cr3t-value") && !result.stderr.contains("s3cr3t-value"))

    #expect(try await remoteLines("cat \(remote)/sub/hello.txt") == ["from the file provisioner"])
    #expect(try String(contentsOf: work.appendingPathComponent("downloaded.txt"), encoding: .utf8) == "made")
    #expect(try await remoteLines("ls -A \(remote)-scripts | wc -l") == ["0"], "uploaded scripts were removed")

    let manifest = try #require(
      try JSONSerialization.jsonObject(with: Data(contentsOf: work.appendingPathComponent("manifest.json"))) as? [String: Any])
    let builds = try #require(manifest["builds"] as? [[String: Any]])
    #expect(builds.count == 1)
    let build = builds[0]
    #expect(build["name"] as? String == "local-ssh")
    #expect(build["builder_type"] as? String == "null")
    #expect(build["artifact_id"] as? String == "Null")
    #expect(build["files"] is NSNull)
    #expect(build["build_time"] as? Int != nil)
    #expect(build["packer_run_uuid"] as? String == manifest["last_run_uuid"] as? String)
    #expect((build["custom_data"] as? [String: String])?["greeting"] == "hello world")
    #expect((build["custom_data"] as? [String: String])?["secret"] == "<sensitive>")
    #expect(!String(decoding: try Data(contentsOf: work.appendingPathComponent("manifest.json")), as: UTF8.self).contains("s3cr3t-value"))

    // A second run appends to the manifest.
    #expect(try await KilnProcess.run(["build", "-color=false", path], in: work).status == 0)
    let again = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: work.appendingPathComponent("manifest.json"))) as? [String: Any])
    #expect((again["builds"] as? [Any])?.count == 2)
  }

  @Test func aFailingScriptFailsTheBuildWithItsExitCode() async throws {
    let scripts = remote + "-failing"
    _ = try await remoteLines("mkdir -p \(scripts)")
    let path = try await template(#"[{"type": "shell", "remote_folder": "\#(scripts)", "inline": ["echo before", "exit 3", "echo never"]}]"#)
    let result = try await KilnProcess.run(["build", "-color=false", path], in: work)
    #expect(result.status == 1)
    #expect(result.stdout.contains("    local-ssh: before"))
    #expect(!result.stdout.contains("never"))
    #expect(result.stdout.contains("Build 'local-ssh' errored after"))
    #expect(result.stdout.contains("provisioner shell (#1) failed: Script exited with non-zero exit status: 3.Allowed exit codes are: [0]"))
    #expect(result.stdout.contains("==> Some builds didn't complete successfully and had errors:"))
    #expect(try await remoteLines("ls -A \(scripts) | wc -l") == ["0"], "a failed script is removed too")
  }

  @Test func retriesAProvisionerAndAcceptsValidExitCodes() async throws {
    let marker = remote + "-attempts"
    let path = try await template(
      #"""
      [{"type": "shell", "max_retries": 2, "inline": ["echo x >> \#(marker)", "test $(wc -l < \#(marker)) -ge 2"]},
       {"type": "shell", "inline": ["exit 7"], "valid_exit_codes": [0, 7]}]
      """#)
    let result = try await KilnProcess.run(["build", "-color=false", path], in: work)
    #expect(result.status == 0, "\(result.stdout)")
    #expect(result.stdout.contains("retrying with 2 trie(s) left"))
  }

  @Test func machineReadableOutputParsesBack() async throws {
    let path = try await template(#"[{"type": "shell", "inline": ["echo a,b"]}]"#)
    let result = try await KilnProcess.run(["build", "-machine-readable", path], in: work)
    #expect(result.status == 0)
    let records = result.stdout.split(separator: "\n").compactMap { MachineReadable.parse(String($0)) }
    #expect(records.contains { $0.type == "ui" && $0.data == ["message", "    local-ssh: a,b"] })
    #expect(records.contains { $0.target == "local-ssh" && $0.type == "artifact-count" && $0.data == ["1"] })
    #expect(records.contains { $0.target == "local-ssh" && $0.type == "artifact" && $0.data == ["0", "id", "Null"] })
    #expect(records.contains { $0.target == "local-ssh" && $0.type == "artifact" && $0.data == ["0", "builder-id", "fnoeding.null"] })
    #expect(records.last?.type == "ui" && records.last?.data == ["say", "--> local-ssh: Did not export anything. This is the null builder"])
    #expect(!records.contains { $0.type == "error-count" }, "Packer writes error-count only when a build failed")
  }

  @Test func sigintCancelsCleansUpAndExitsNonZero() async throws {
    let scripts = remote + "-sigint"
    _ = try await remoteLines("mkdir -p \(scripts)")
    let path = try await template(#"[{"type": "shell", "remote_folder": "\#(scripts)", "inline": ["echo started", "sleep 60", "echo finished"]}]"#)
    let kiln = try await KilnProcess.Running(["build", "-color=false", path], in: work)
    try await kiln.waitFor("local-ssh: started")
    #expect(try await remoteLines("ls -A \(scripts) | wc -l") == ["1"], "the script is on the machine while it runs")
    kiln.interrupt()
    #expect(try await kiln.finish() == 1)
    let text = kiln.text
    #expect(text.contains("Cancelling build after receiving interrupt"))
    #expect(text.contains("Cleanly cancelled builds after being interrupted."))
    #expect(!text.contains("finished"))
    #expect(text.contains("Cleaning up: removing \(scripts)/script_"))
    #expect(try await remoteLines("ls -A \(scripts) | wc -l") == ["0"], "cleanup removed the uploaded script")
  }
}

final class LinesBox: Sendable {
  private let lines = Mutex<[String]>([])
  func append(_ line: String) { lines.withLock { $0.append(line) } }
  var all: [String] { lines.withLock { $0 } }
}

extension BuildCommandTests {
  /// The script kills its own SSH connection (as a reboot would).
  static let dropConnection = #"{"type": "shell", "inline": ["echo going down", "kill -9 $PPID"]}"#

  @Test func anExpectedDisconnectContinuesOnANewConnection() async throws {
    let path = try await template(
      #"[\#(Self.dropConnection.dropLast()), "expect_disconnect": true}, {"type": "shell", "inline": ["echo back again"]}]"#)
    let result = try await KilnProcess.run(["build", "-color=false", path], in: work)
    #expect(result.status == 0, "\(result.stdout)")
    #expect(result.stdout.contains("Remote end disconnected while executing the script"))
    #expect(result.stdout.contains("    local-ssh: back again"))
  }

  @Test func anUnexpectedDisconnectFailsTheBuild() async throws {
    let path = try await template("[\(Self.dropConnection)]")
    let result = try await KilnProcess.run(["build", "-color=false", path], in: work)
    #expect(result.status == 1)
    #expect(result.stdout.contains("Script disconnected unexpectedly"))
    #expect(result.stdout.contains("set \"expect_disconnect\": true"))
  }

  @Test func theErrorCleanupProvisionerRunsOnlyWhenABuildFails() async throws {
    let marker = work.appendingPathComponent("error-cleanup-ran").path
    var path = try await template(#"[{"type": "shell", "inline": ["exit 1"]}]"#)
    var text = try String(contentsOfFile: path, encoding: .utf8)
    text = text.replacingOccurrences(
      of: "\"post-processors\": []",
      with: #""post-processors": [], "error-cleanup-provisioner": {"type": "shell-local", "inline": ["touch \#(marker)"]}"#)
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    #expect(try await KilnProcess.run(["build", "-color=false", path], in: work).status == 1)
    #expect(FileManager.default.fileExists(atPath: marker))
    try FileManager.default.removeItem(atPath: marker)
    path = try await template(#"[{"type": "shell", "inline": ["true"]}]"#)
    text = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(
      of: "\"post-processors\": []",
      with: #""post-processors": [], "error-cleanup-provisioner": {"type": "shell-local", "inline": ["touch \#(marker)"]}"#)
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    #expect(try await KilnProcess.run(["build", "-color=false", path], in: work).status == 0)
    #expect(!FileManager.default.fileExists(atPath: marker))
  }

  @Test func onErrorAbortSaysWhatItLeaves() async throws {
    let path = try await template(#"[{"type": "shell", "inline": ["exit 1"]}]"#)
    let result = try await KilnProcess.run(["build", "-color=false", "-on-error=abort", path], in: work)
    #expect(result.status == 1)
    #expect(result.stdout.contains("aborted: skipping cleanup of step \"provision\""))
    #expect(result.stdout.contains("aborted: skipping cleanup of step \"connect-ssh\""))
  }
}

extension BuildCommandTests {
  @Test func theDebugLogRecordsTheBuildWithoutSecrets() async throws {
    let path = try await template(#"[{"type": "shell", "inline": ["echo token={{user `secret`}}"]}]"#)
    let logFile = work.appendingPathComponent("kiln.log").path
    let result = try await KilnProcess.run(
      ["build", "-color=false", path], in: work,
      environment: KilnProcess.isolatedEnvironment(["KILN_LOG": "1", "KILN_LOG_PATH": logFile]))
    #expect(result.status == 0)
    let log = try String(contentsOfFile: logFile, encoding: .utf8)
    #expect(log.contains("ui say: ==> local-ssh: Connected to SSH!"))
    #expect(log.contains("ui message:     local-ssh: token=<sensitive>"))
    #expect(log.contains("cleanup of step connect-ssh"))
    #expect(!log.contains("s3cr3t-value") && !result.stdout.contains("s3cr3t-value"))
    #expect((try FileManager.default.attributesOfItem(atPath: logFile)[.posixPermissions] as? Int) == 0o600)
  }

  @Test func debugPausesAfterEachStepAndBeforeEachCleanup() async throws {
    let marker = work.appendingPathComponent("provisioned").path
    let path = try await template(#"[{"type": "shell-local", "inline": ["touch \#(marker)"]}]"#)
    let kiln = try await KilnProcess.Running(["build", "-color=false", "-debug", path], in: work, keepStdinOpen: true)
    try await kiln.waitFor("Pausing after run of step 'connect-ssh'. Press enter to continue.")
    // Paused: the provisioning step does not start while no line is given.
    try await Task.sleep(for: .seconds(2))
    #expect(!kiln.text.contains("Provisioning with shell-local"), "\(kiln.text)")
    #expect(!FileManager.default.fileExists(atPath: marker))
    kiln.send("\n")
    try await kiln.waitFor("Pausing after run of step 'provision'. Press enter to continue.")
    #expect(FileManager.default.fileExists(atPath: marker))
    kiln.send("\n")
    try await kiln.waitFor("Pausing before cleanup of step 'provision'. Press enter to continue.")
    kiln.send("\n")
    try await kiln.waitFor("Pausing before cleanup of step 'connect-ssh'. Press enter to continue.")
    #expect(!kiln.text.contains("finished after"), "cleanup waits for the line too")
    kiln.send("\n")
    #expect(try await kiln.finish() == 0, "\(kiln.text)")
  }

  /// Ctrl-C at a `-debug` pause (standard input open, nothing typed) ends the wait, cleans
  /// up without pausing again, and exits.
  @Test func sigintAtADebugPauseExitsAndCleansUp() async throws {
    let path = try await template(#"[{"type": "shell", "inline": ["true"]}]"#)
    let logFile = work.appendingPathComponent("debug-sigint.log").path
    let kiln = try await KilnProcess.Running(
      ["build", "-color=false", "-debug", path], in: work,
      environment: KilnProcess.isolatedEnvironment(["KILN_LOG": "1", "KILN_LOG_PATH": logFile]), keepStdinOpen: true)
    try await kiln.waitFor("Pausing after run of step 'connect-ssh'. Press enter to continue.")
    kiln.interrupt()
    #expect(try await kiln.finish() == 1, "\(kiln.text)")
    #expect(kiln.text.contains("Cleanly cancelled builds after being interrupted."), "\(kiln.text)")
    #expect(!kiln.text.contains("Pausing before cleanup"))
    #expect(try String(contentsOfFile: logFile, encoding: .utf8).contains("cleanup of step connect-ssh"))
  }

  /// Ctrl-C at a breakpoint (standard input open, nothing typed) ends the wait and the build.
  @Test func sigintAtABreakpointExitsAndCleansUp() async throws {
    let after = work.appendingPathComponent("after-breakpoint").path
    let path = try await template(#"[{"type": "breakpoint", "note": "look around"}, {"type": "shell-local", "inline": ["touch \#(after)"]}]"#)
    let logFile = work.appendingPathComponent("breakpoint-sigint.log").path
    let kiln = try await KilnProcess.Running(
      ["build", "-color=false", path], in: work,
      environment: KilnProcess.isolatedEnvironment(["KILN_LOG": "1", "KILN_LOG_PATH": logFile]), keepStdinOpen: true)
    try await kiln.waitFor("Pausing at breakpoint provisioner with note \"look around\". Press enter to continue.")
    kiln.interrupt()
    #expect(try await kiln.finish() == 1, "\(kiln.text)")
    #expect(kiln.text.contains("Cleanly cancelled builds after being interrupted."), "\(kiln.text)")
    #expect(!FileManager.default.fileExists(atPath: after), "the provisioner after the breakpoint never ran")
    #expect(try String(contentsOfFile: logFile, encoding: .utf8).contains("cleanup of step connect-ssh"))
  }

  /// Packer's own fixture: `override` per build, and `only`/`except` at run time.
  @Test(arguments: [
    (
      "hashicorp__packer__command__test-fixtures__provisioners__provisioner-override.json",
      ["    example1: yes overridden", "    example2: not overridden"]
    ),
    (
      "hashicorp__packer__command__test-fixtures__provisioners__provisioner-only-except.json",
      [
        "    packer: packer provisioner packer and null", "    null: null provisioner null and null",
        "    packer (shell-local): packer post-processor packer and null", "    null (shell-local): null post-processor null and null",
      ]
    ),
  ])
  func packerFixturesBuildAsPackerDoes(name: String, expected: [String]) async throws {
    let path = SharedFixtures.root.appendingPathComponent("conformance/templates/\(name)").path
    let result = try await KilnProcess.run(["build", "-color=false", path], in: work)
    #expect(result.status == 0, "\(result.stdout)")
    for line in expected { #expect(result.stdout.contains(line), "\(line)\n\(result.stdout)") }
    #expect(!result.stdout.contains("example1: not overridden"))
    #expect(!result.stdout.contains("    null: packer provisioner"))
    let only = try await KilnProcess.run(["build", "-color=false", "-only=example2", path], in: work)
    if name.contains("override") {
      #expect(only.stdout.contains("example2: not overridden") && !only.stdout.contains("example1"))
    }
  }
}

extension BuildCommandTests {
  @Test func onErrorAskCanAbortRetryOrCleanUp() async throws {
    let marker = remote + "-ask"
    let path = try await template(#"[{"type": "shell", "inline": ["echo x >> \#(marker)", "test $(wc -l < \#(marker)) -ge 2"]}]"#)
    let retried = try await KilnProcess.run(["build", "-color=false", "-on-error=ask", path], in: work, input: "r\n")
    #expect(retried.status == 0, "\(retried.stdout)")
    #expect(retried.stdout.contains("[c] Clean up and exit, [a] abort without cleanup, or [r] retry step"))
    let failing = try await template(#"[{"type": "shell", "inline": ["exit 1"]}]"#)
    let aborted = try await KilnProcess.run(["build", "-color=false", "-on-error=ask", failing], in: work, input: "a\n")
    #expect(aborted.status == 1)
    #expect(aborted.stdout.contains("aborted: skipping cleanup of step \"provision\""))
    let cleaned = try await KilnProcess.run(["build", "-color=false", "-on-error=ask", failing], in: work, input: "\n")
    #expect(cleaned.status == 1)
    #expect(!cleaned.stdout.contains("aborted: skipping cleanup"))
  }

  @Test func provisionerTimeoutAndPauseBefore() async throws {
    let path = try await template(
      #"[{"type": "shell", "pause_before": "1s", "inline": ["true"]}, {"type": "shell", "timeout": "1s", "inline": ["sleep 30"]}]"#)
    let result = try await KilnProcess.run(["build", "-color=false", path], in: work)
    #expect(result.status == 1)
    #expect(result.stdout.contains("Pausing 1s before the next provisioner..."))
    #expect(result.stdout.contains("Setting a 1s timeout for the next provisioner..."))
    #expect(result.stdout.contains("provisioner shell timed out after 1s"))
  }

  /// The null builder's artifact has no files: Packer's checksum post-processor then writes
  /// nothing and passes on an artifact without files (its format is tested on files in
  /// `BuildSessionTests`).
  @Test func checksumOfAnArtifactWithoutFilesWritesNothing() async throws {
    let first = work.appendingPathComponent("local-ssh.sha256").path
    let path = try await template(
      #"[]"#,
      postProcessors: #"""
        [[{"type": "checksum", "checksum_types": ["sha256", "md5"], "output": "\#(work.path)/{{.BuildName}}.{{.ChecksumType}}"}]]
        """#)
    let result = try await KilnProcess.run(["build", "-machine-readable", path], in: work)
    #expect(result.status == 0, "\(result.stdout)")
    #expect(!FileManager.default.fileExists(atPath: first))
    let records = result.stdout.split(separator: "\n").compactMap { MachineReadable.parse(String($0)) }
    #expect(records.contains { $0.type == "artifact" && $0.data == ["1", "builder-id", "packer.post-processor.checksum"] })
    #expect(records.contains { $0.type == "artifact" && $0.data == ["1", "files-count", "0"] })
  }

  @Test func sigintWhileWaitingForSSHCancelsCleanly() async throws {
    let closed = try ClosedPort()
    let server = try await Self.server.get()
    let text = """
      {"builders": [{"type": "null", "ssh_host": "127.0.0.1", "ssh_port": \(closed.port), "ssh_username": "\(server.user)",
                     "ssh_private_key_file": "\(keyFile)", "ssh_timeout": "10m"}],
       "provisioners": [{"type": "shell", "inline": ["true"]}]}
      """
    let path = work.appendingPathComponent("waiting.json").path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    let kiln = try await KilnProcess.Running(["build", "-color=false", path], in: work)
    try await kiln.waitFor("Waiting for SSH to become available")
    kiln.interrupt()
    #expect(try await kiln.finish() == 1)
    #expect(kiln.text.contains("Cleanly cancelled builds after being interrupted."))
    withExtendedLifetime(closed) {}
  }
}

@Suite struct ChecksumDigestTests {
  @Test func digestsMatchCoreutils() async throws {
    let file = try Scratch.directory("kiln-sum").appendingPathComponent("data")
    try Data((0..<3_000_000).map { UInt8($0 % 251) }).write(to: file)
    for (type, tool) in [("sha256", "sha256sum"), ("md5", "md5sum"), ("sha512", "sha512sum")] {
      let (status, output) = try await TestCommand.run([tool, file.path], includeStderr: false)
      #expect(status == 0)
      let expected = output.split(separator: " ").first.map(String.init)
      #expect(try ChecksumPostProcessor.digest(type, of: file.path) == expected)
    }
  }
}

extension BuildCommandTests {
  @Test func oneFailingBuildDoesNotStopTheOthers() async throws {
    let server = try await Self.server.get()
    let builder = { (name: String) in
      #"{"type": "null", "name": "\#(name)", "ssh_host": "127.0.0.1", "ssh_port": \#(server.port), "ssh_username": "\#(server.user)", "ssh_private_key_file": "\#(keyFile)"}"#
    }
    let text = """
      {"builders": [\(builder("good")), \(builder("bad"))],
       "provisioners": [{"type": "shell", "inline": ["sleep 1; echo done"], "only": ["good"]},
                        {"type": "shell", "inline": ["exit 9"], "only": ["bad"]}]}
      """
    let path = work.appendingPathComponent("two.json").path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    let result = try await KilnProcess.run(["build", "-color=false", path], in: work)
    #expect(result.status == 1)
    #expect(result.stdout.contains("    good: done"))
    #expect(result.stdout.contains("Build 'good' finished after"))
    #expect(result.stdout.contains("Build 'bad' errored after"))
    #expect(result.stdout.contains("--> bad: provisioner shell (#2) failed: Script exited with non-zero exit status: 9"))
    #expect(result.stdout.contains("--> good: Did not export anything. This is the null builder"))
  }

  @Test func environmentVariablesThroughAFileAndACustomFormat() async throws {
    let path = try await template(
      #"""
      [{"type": "shell", "use_env_var_file": true, "environment_vars": ["A=it's here", "B=two words"],
        "inline": ["echo \"$A|$B|$PACKER_BUILD_NAME\""]},
       {"type": "shell", "env_var_format": "export %s='%s'; ", "execute_command": "{{.Vars}} sh {{.Path}}",
        "environment_vars": ["C=formatted"], "inline": ["echo \"C=$C\""]}]
      """#)
    let result = try await KilnProcess.run(["build", "-color=false", path], in: work)
    #expect(result.status == 0, "\(result.stdout)")
    #expect(result.stdout.contains("    local-ssh: it's here|two words|local-ssh"))
    #expect(result.stdout.contains("    local-ssh: C=formatted"))
  }
}

extension BuildCommandTests {
  /// A second Ctrl-C while cleanup runs exits at once, saying what may be left.
  @Test func aSecondInterruptExitsAtOnce() async throws {
    var path = try await template(#"[{"type": "shell", "inline": ["exit 1"]}]"#)
    let text = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(
      of: "\"post-processors\": []",
      with: #""post-processors": [], "error-cleanup-provisioner": {"type": "shell-local", "inline": ["echo slow cleanup", "sleep 60"]}"#)
    path = work.appendingPathComponent("second.json").path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    let kiln = try await KilnProcess.Running(["build", "-color=false", path], in: work)
    try await kiln.waitFor("slow cleanup")
    kiln.interrupt()
    try await kiln.waitFor("Cancelling build after receiving interrupt")
    kiln.interrupt()
    // Without the second signal kiln would wait for the 60 s cleanup and exit 1.
    #expect(try await kiln.finish() == 130)
    #expect(kiln.text.contains("Interrupted again: exiting at once. Nothing kiln created is known to be left behind."))
  }
}

/// The command line itself: flags, and running where the host offers little.
@Suite struct CommandLineTests {
  let work: URL

  init() throws {
    work = try Scratch.directory("kiln-cli")
  }

  /// A template that needs no machine: the null builder without a communicator.
  func localTemplate(_ provisioners: String) throws -> String {
    let path = work.appendingPathComponent("local.json").path
    try #"{"builders": [{"type": "null", "communicator": "none"}], "provisioners": \#(provisioners)}"#
      .write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  /// A typo'd flag is an error naming it, exit 1, and nothing is built. (An unknown
  /// single-dash word with an "h" in it used to be read as `-h`: help, exit 0.)
  @Test(arguments: [
    ["build", "-machine-readble"], ["build", "--machine-readble"], ["build", "-forse"], ["build", "-on-eror=abort"],
    ["build", "-debgu"], ["validate", "-syntax-olny"], ["validate", "-hx"], ["inspect", "--bogus"],
    ["build", "-parallel-builds=1", "-th"],
  ])
  func anUnknownFlagIsAnErrorThatNamesIt(flags: [String]) async throws {
    let marker = work.appendingPathComponent("built").path
    let path = try localTemplate(#"[{"type": "shell-local", "inline": ["touch \#(marker)"]}]"#)
    let result = try await KilnProcess.run(flags + [path], in: work, timeout: 60)
    let typo = flags.last!.split(separator: "=").first.map(String.init)!
    #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
    #expect(result.stderr.contains("Unknown option '\(typo)'"), "\(result.stderr)")
    #expect(!result.stdout.contains("USAGE:"), "not the help")
    #expect(!FileManager.default.fileExists(atPath: marker))
  }

  @Test(arguments: [["build", "-h"], ["build", "-help"], ["build", "--help"], ["-h"], ["validate", "-help"]])
  func helpStillWorks(flags: [String]) async throws {
    let result = try await KilnProcess.run(flags, in: work, timeout: 60)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout.contains("USAGE: kiln"))
  }

  /// In a network namespace whose loopback is down, Foundation's Process cannot make its
  /// run loop's wakeup sockets and never reported the scripts' exit: kiln hung forever.
  /// A network namespace needs root (CI runs as root, and so the test runs there).
  @Test(
    .enabled(
      if: FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare") && getuid() == 0, "needs root and unshare(1) for a network namespace"))
  func shellLocalProvisionersFinishWithoutANetwork() async throws {
    let unshare = "/usr/bin/unshare"
    let path = try localTemplate(
      #"[{"type": "shell-local", "inline": ["echo first script"]}, {"type": "shell-local", "inline": ["echo to stderr >&2", "echo second script"]}]"#)
    let result = try await KilnProcess.run(["build", "-color=false", path], in: work, timeout: 60, launcher: [unshare, "-n"])
    #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    #expect(result.stdout.contains("    null: first script"))
    #expect(result.stdout.contains("    null: second script"))
    #expect(result.stdout.contains("==> null: to stderr"))
    #expect(result.stdout.contains("Build 'null' finished after"))
  }
}
