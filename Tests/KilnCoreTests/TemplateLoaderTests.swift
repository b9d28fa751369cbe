import KilnCore
import Testing

func load(_ text: String) -> TemplateLoader.Result {
  TemplateLoader.load(SourceFile(path: "t.json", bytes: Array(text.utf8)))
}

@Suite struct TemplateLoaderTests {
  @Test func readsEveryRootKeyAndShape() throws {
    let result = load(
      #"""
      {
        "_comment": "ignored",
        "description": "d",
        "min_packer_version": "1.5.0",
        "variables": {"a": "1", "req": null, "n": 5, "b": true},
        "sensitive-variables": ["a"],
        "builders": [{"type": "null", "name": "one", "communicator": "none"}, {"type": "null"}],
        "provisioners": [
          {"type": "shell-local", "inline": ["x"], "only": ["one"], "pause_before": "1s", "max_retries": 2, "timeout": "5m",
           "override": {"one": {"inline": ["y"]}}}
        ],
        "error-cleanup-provisioner": {"type": "shell-local", "inline": ["z"]},
        "post-processors": ["checksum", {"type": "manifest", "name": "m", "keep_input_artifact": true},
                            [{"type": "shell-local", "inline": ["a"]}, "checksum"]]
      }
      """#)
    #expect(!result.diagnostics.hasErrors, "\(result.diagnostics.items)")
    let template = try #require(result.template)
    #expect(template.description == "d")
    #expect(template.minimumPackerVersion?.value == "1.5.0")
    #expect(template.variables.map(\.name) == ["a", "req", "n", "b"])
    #expect(template.variable(named: "req")?.isRequired == true)
    #expect(template.variable(named: "n")?.defaultValue == "5")
    #expect(template.variable(named: "b")?.defaultValue == "1")
    #expect(template.sensitiveVariables.map(\.value) == ["a"])
    #expect(template.builders.map(\.name) == ["one", "null"])
    let provisioner = try #require(template.provisioners.first)
    #expect(provisioner.only.map(\.value) == ["one"])
    #expect(provisioner.applies(to: "one") && !provisioner.applies(to: "null"))
    #expect(provisioner.configuration(for: "one")["inline"]?.elements?.first?.stringValue == "y")
    #expect(provisioner.configuration(for: "null")["inline"]?.elements?.first?.stringValue == "x")
    #expect(provisioner.configuration["pause_before"] == nil, "special keys are stripped")
    #expect(template.errorCleanupProvisioner?.type.value == "shell-local")
    #expect(template.postProcessors.map { $0.map(\.type.value) } == [["checksum"], ["manifest"], ["shell-local", "checksum"]])
    #expect(template.postProcessors[1][0].keepInputArtifact == true)
    #expect(template.postProcessors[1][0].name == "m")
  }

  @Test(arguments: [
    (#"{"builders": [{"type": "null"}], "nope": 1}"#, "unknown root level key in template: 'nope'"),
    (#"{"builderz": []}"#, "did you mean 'builders'?"),
    (#"{"builders": [{"name": "x"}]}"#, "builder 1: missing 'type'"),
    (#"{"builders": [{"type": "a"}, {"type": "a"}]}"#, "builder 2: builder with name 'a' already exists"),
    (#"{"builders": {}}"#, "'builders' must be a list, not an object"),
    (#"{"builders": [], "provisioners": "not an array"}"#, "'provisioners' must be a list, not a string"),
    (#"{"builders": [], "provisioners": [{"inline": []}]}"#, "provisioner 1: missing 'type'"),
    (#"{"builders": [], "post-processors": [[["x"]]]}"#, "cannot contain another sequence"),
    (#"{"builders": [], "post-processors": [5]}"#, "must be a type name, an object or a list"),
    (#"{"variables": {"a": ["x"]}, "builders": []}"#, "the default must be a string or null"),
    (#"{"variables": [], "builders": []}"#, "'variables' must be an object"),
    (#"{"_c": 1, "builders": []}"#, "comment key '_c' must have a string value"),
    (#"{"builders": [{"type": "null", "type": "x"}]}"#, "duplicate key 'type'"),
    (#"["not an object"]"#, "a template must be a JSON object"),
  ])
  func shapeErrors(text: String, expected: String) {
    let result = load(text)
    let messages = result.diagnostics.errors.map(\.message)
    #expect(messages.contains { $0.contains(expected) }, "\(messages)")
    #expect(result.diagnostics.errors.allSatisfy { $0.location?.path == "t.json" })
  }

  @Test func collectsEveryProblemInOnePass() {
    let result = load(#"{"a": 1, "b": 2, "builders": [{"name": "x"}, {"type": 1}]}"#)
    #expect(result.diagnostics.errors.count == 5)
  }
}
