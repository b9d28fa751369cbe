import Foundation
import KilnCore
import Testing
import _KilnTestSupport

@Suite struct VariableResolverTests {
  func temporaryFile(_ text: String) throws -> String {
    let url = try Scratch.directory("kiln-vars").appendingPathComponent("vars.json")
    try text.write(to: url, atomically: true, encoding: .utf8)
    return url.path
  }

  func resolve(_ template: String, files: [String] = [], vars: [String] = [], env: [String: String] = [:]) throws -> ResolvedVariables {
    let loaded = load(template)
    let parsed = try #require(loaded.template)
    return VariableResolver.resolve(
      template: parsed, variableFiles: files, assignments: vars.compactMap(VariableResolver.Assignment.parse),
      context: RenderContext(phase: .variables, clock: fixedClock, environment: env))
  }

  @Test func precedenceDefaultsThenFilesInOrderThenVarAlwaysWins() throws {
    let first = try temporaryFile(#"{"a": "file1", "b": "file1", "c": "file1"}"#)
    let second = try temporaryFile(#"{"b": "file2", "c": "file2"}"#)
    let resolved = try resolve(
      #"{"variables": {"a": "def", "b": "def", "c": "def", "d": "def"}, "builders": []}"#,
      files: [first, second], vars: ["c=flag"])
    #expect(resolved.values == ["a": "file1", "b": "file2", "c": "flag", "d": "def"])
    #expect(!resolved.diagnostics.hasErrors)
  }

  @Test func variablesReferToEachOtherAndToTheEnvironment() throws {
    let resolved = try resolve(
      #"""
      {"variables": {"region": "{{env `REGION`}}", "name": "eks-{{user `version`}}-{{user `region`}}",
                     "version": "{{user `major`}}.29", "major": "1"}, "builders": []}
      """#, env: ["REGION": "eu-west-1"])
    #expect(resolved.values["name"] == "eks-1.29-eu-west-1")
  }

  @Test func requiredVariablesAreReportedAtTheirDeclaration() throws {
    let resolved = try resolve("{\"variables\": {\n  \"a\": null,\n  \"b\": null}, \"builders\": []}", vars: ["b=x"])
    let errors = resolved.diagnostics.errors
    #expect(errors.count == 1)
    #expect(errors.first?.message.contains("required variable not set: a") == true)
    #expect(errors.first?.location?.line == 2)
  }

  @Test func aFailingReferenceIsReportedOnceAtItsRoot() throws {
    let resolved = try resolve(#"{"variables": {"b": "{{user `missing`}}", "c": "{{user `b`}}"}, "builders": []}"#)
    #expect(resolved.diagnostics.errors.count == 1)
    #expect(resolved.diagnostics.errors.first?.message.contains("variable 'b'") == true)
    #expect(resolved.diagnostics.errors.first?.location?.column == 24) // the `user` call
  }

  @Test func variableFileErrorsHavePositions() throws {
    let bad = try temporaryFile("{\n  \"a\": {\"x\": 1}\n}")
    let resolved = try resolve(#"{"variables": {"a": "d"}, "builders": []}"#, files: [bad])
    let error = try #require(resolved.diagnostics.errors.first)
    #expect(error.message == "variable 'a': a variable file's value must be a string, number or boolean, not an object")
    #expect(error.location?.path == bad && error.location?.line == 2)
    let missing = try resolve(#"{"builders": []}"#, files: ["/nonexistent/vars.json"])
    #expect(missing.diagnostics.errors.first?.message.contains("cannot read variable file") == true)
  }

  @Test func sensitiveValuesAreCollected() throws {
    let resolved = try resolve(#"{"variables": {"token": "s3cr3t", "x": "y"}, "sensitive-variables": ["token", "ghost"], "builders": []}"#)
    #expect(resolved.sensitiveValues == ["s3cr3t"])
    #expect(resolved.diagnostics.warnings.first?.message.contains("'ghost' is not declared") == true)
    #expect(SecretMasker(resolved.sensitiveValues).mask("token=s3cr3t!") == "token=<sensitive>!")
  }

  @Test func assignmentSplitsAtTheFirstEquals() {
    let assignment = VariableResolver.Assignment.parse("a=b=c")
    #expect(assignment?.name == "a" && assignment?.value == "b=c")
    #expect(VariableResolver.Assignment.parse("=x") == nil)
    #expect(VariableResolver.Assignment.parse("novalue") == nil)
  }

  /// A variable that needs itself, directly or through others, is one error naming the
  /// cycle at the `user` call that starts it (these ran forever or grew to 5.3 GB).
  @Test(arguments: [
    (#"{"a": "x{{user `a`}}"}"#, "a -> a", 25),
    (#"{"a": "{{user `a`}}{{user `a`}}"}"#, "a -> a", 24),
    (#"{"a": "{{user `b`}}", "b": "{{user `c`}}", "c": "-{{user `a`}}"}"#, "a -> b -> c -> a", 24),
    (#"{"a": "{{user (lower `A`)}}"}"#, "a -> a", 24),
    (#"{"a": "{{ `{{user \"a\"}}` }}"}"#, "a -> a", 22),
    (#"{"d": "{{user `a`}}", "a": "{{user `b`}}", "b": "{{user `a`}}"}"#, "a -> b -> a", 45),
  ])
  func selfReferenceIsNamed(variables: String, cycle: String, column: Int) throws {
    let resolved = try resolve(#"{"variables": \#(variables), "builders": []}"#)
    let errors = resolved.diagnostics.errors
    #expect(errors.count == 1, "\(errors.map(\.message))")
    let name = String(cycle.prefix { $0 != " " })
    #expect(errors.first?.message == "variable '\(name)': variable \"\(name)\" refers to itself: \(cycle)")
    #expect(errors.first?.location?.line == 1)
    #expect(errors.first?.location?.column == column)
  }

  @Test func chainsAndSharedVariablesResolveOnce() throws {
    let resolved = try resolve(
      #"""
      {"variables": {"a": "{{user `b`}}{{user `b`}}", "b": "{{user `c`}}-{{user `c`}}", "c": "{{user `d`}}",
                     "d": "{{env `D`}}", "e": "{{ `{{user \"c\"}}` }}!", "f": "{{user (lower `D`)}}"}, "builders": []}
      """#, env: ["D": "x"])
    #expect(!resolved.diagnostics.hasErrors, "\(resolved.diagnostics.errors.map(\.message))")
    #expect(resolved.values == ["a": "x-xx-x", "b": "x-x", "c": "x", "d": "x", "e": "x!", "f": "x"])
  }
}
