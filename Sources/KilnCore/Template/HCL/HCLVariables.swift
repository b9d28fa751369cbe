import Foundation
import KilnHCL

/// A `variable` block (or an entry of a `variables` block) and the values given for it, in
/// precedence order: the last one wins.
struct HCLInputVariable {
  struct Assignment {
    /// Packer's word for where it came from: default, env, varfile, cmd.
    var from: String
    var value: HCLValue
    /// Where the value was written, when in a file.
    var range: HCLRange?
  }

  struct Validation {
    var condition: HCLExpression
    var errorMessage: String
    var range: HCLRange
  }

  var name: String
  /// `.dynamic` when neither `type` nor a default says.
  var type: HCLType
  var typeGiven: Bool
  var description: String
  var sensitive: Bool
  var range: HCLRange
  var validations: [Validation] = []
  var values: [Assignment] = []

  /// The value in force: the last assigned, or unknown when none is (reported as unset).
  var value: HCLValue { values.last?.value ?? .unknown(type) }
}

extension HCLTemplateLoader {
  static let variableSchema = BodySchema(
    attributes: [.init("description"), .init("default"), .init("type"), .init("sensitive")], blocks: [.init("validation")])

  var defaultsContext: EvalContext { EvalContext(variables: nil, functions: HCLFunctions.defaults(options: options)) }

  func decodeVariables() {
    for block in blocks {
      switch block.type {
      case "variable":
        decodeVariable(block)
      case "variables":
        let (attributes, problems) = block.body.justAttributes()
        report(problems)
        for attribute in attributes {
          guard !isDuplicate(attribute.name, attribute.nameRange) else { continue }
          let value = attribute.expression.evaluate(in: defaultsContext)
          report(value.diagnostics)
          if value.diagnostics.hasErrors { continue }
          variables.append(
            HCLInputVariable(
              name: attribute.name, type: value.value.type, typeGiven: false, description: "", sensitive: false, range: attribute.range,
              values: [.init(from: "default", value: value.value, range: attribute.expression.range)]))
        }
      default:
        break
      }
    }
  }

  func isDuplicate(_ name: String, _ range: HCLRange) -> Bool {
    guard variables.contains(where: { $0.name == name }) else { return false }
    report("Duplicate variable", "Duplicate \(name) variable definition found.", at: range)
    return true
  }

  func decodeVariable(_ block: Block) {
    let name = block.labels[0]
    guard !isDuplicate(name, block.definitionRange) else { return }
    let (content, problems) = block.body.content(Self.variableSchema)
    report(problems)
    var variable = HCLInputVariable(
      name: name, type: .dynamic, typeGiven: false, description: "", sensitive: false, range: block.definitionRange)
    if let attribute = content[attribute: "description"], case .string(let text) = constant(attribute, .string) {
      variable.description = text
    }
    if let attribute = content[attribute: "sensitive"], case .bool(let flag) = constant(attribute, .bool) {
      variable.sensitive = flag
    }
    if let attribute = content[attribute: "type"] {
      let (type, problems) = HCLTypeExpression.type(of: attribute.expression)
      report(problems)
      guard let type else { return }
      variable.type = type
      variable.typeGiven = true
    }
    if let attribute = content[attribute: "default"] {
      let result = attribute.expression.evaluate(in: defaultsContext)
      report(result.diagnostics)
      if result.diagnostics.hasErrors { return }
      var value = result.value
      do {
        value = try HCLConvert.convert(value, to: variable.type)
      } catch {
        report(
          "Invalid default value for variable",
          "This default value is not compatible with the variable's type constraint: \(error.message).", at: attribute.expression.range)
        value = .dynamicUnknown
      }
      variable.values.append(.init(from: "default", value: value, range: attribute.expression.range))
      if variable.type == .dynamic, value.type != .emptyObject, value.type != .emptyTuple { variable.type = value.type }
    }
    for validation in content.blocks { decodeValidation(validation, into: &variable) }
    variables.append(variable)
  }

  /// An attribute that must be a constant of `type` (no variables, no functions).
  func constant(_ attribute: Attribute, _ type: HCLType) -> HCLValue? {
    let result = attribute.expression.evaluate(in: .empty)
    report(result.diagnostics)
    if result.diagnostics.hasErrors { return nil }
    do {
      return try HCLConvert.convert(result.value, to: type)
    } catch {
      report("Unsuitable value type", "Unsuitable value: \(error.message)", at: attribute.expression.range)
      return nil
    }
  }

  func decodeValidation(_ block: Block, into variable: inout HCLInputVariable) {
    let (content, problems) = block.body.content(
      BodySchema(attributes: [.init("condition", required: true), .init("error_message", required: true)]))
    report(problems)
    guard let condition = content[attribute: "condition"], let message = content[attribute: "error_message"] else { return }
    var good = 0
    for traversal in condition.expression.traversals {
      if traversal.root == "var", traversal.firstAttribute == variable.name {
        good += 1
        continue
      }
      report(
        "Invalid reference in variable validation",
        "The condition for variable \"\(variable.name)\" can only refer to the variable itself, using var.\(variable.name).", at: traversal.range)
    }
    if good == 0 {
      report(
        "Invalid variable validation condition",
        "The condition for variable \"\(variable.name)\" must refer to var.\(variable.name) in order to test incoming values.",
        at: condition.expression.range)
    }
    guard case .string(let text) = constant(message, .string) else { return }
    if text.isEmpty {
      report("Invalid validation error message", "An empty string is not a valid nor useful error message.", at: message.expression.range)
    } else if !Self.looksLikeSentences(text) {
      report(
        "Invalid validation error message",
        "Validation error message must be at least one full sentence starting with an uppercase letter ( if the alphabet permits it ) and ending with a period or question mark.",
        at: message.expression.range)
    }
    variable.validations.append(.init(condition: condition.expression, errorMessage: text, range: block.definitionRange))
  }

  static func looksLikeSentences(_ text: String) -> Bool {
    let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
    guard let first = trimmed.first, let last = trimmed.last else { return false }
    if first.isLetter, !first.isUppercase, first.isCased { return false }
    return last == "." || last == "?" || last == "!"
  }

  // MARK: - Values

  /// `PKR_VAR_name`, var files, `-var`, in Packer's order (`collectInputVariableValues`):
  /// the auto var files and `-var-file` files are read native syntax first, then JSON
  /// (Packer's parser sorts them so), each group in order.
  func collectVariableValues() {
    for (key, text) in options.environment.sorted(by: { $0.key < $1.key }) where key.hasPrefix("PKR_VAR_") {
      let name = String(key.dropFirst(8))
      guard let index = variables.firstIndex(where: { $0.name == name }) else { continue }
      assignText(text, to: index, from: "env", origin: "<value for var.\(name) from env>", summary: "Invalid value for variable")
    }

    var native = HCLInputs.files(path, [HCLInputs.autoVariableSuffixes[0]])
    var json = HCLInputs.files(path, [HCLInputs.autoVariableSuffixes[1]])
    for file in options.variableFiles {
      if file.hasSuffix(".hcl") {
        native.append(file)
      } else if file.hasSuffix(".json") {
        json.append(file)
      } else {
        report("Could not guess format of \(file)", "A var file must be suffixed with `.hcl` or `.json`.", at: nil)
      }
    }
    for file in native + json { readVariableFile(file) }

    for assignment in options.assignments {
      guard let index = variables.firstIndex(where: { $0.name == assignment.name }) else {
        report(
          "Undefined -var variable",
          "A \"\(assignment.name)\" variable was passed in the command line but was not found in known variables. To declare variable \"\(assignment.name)\", place this block in one of your .pkr files, such as variables.pkr.hcl",
          at: nil)
        continue
      }
      assignText(
        assignment.value, to: index, from: "cmd", origin: "<value for var.\(assignment.name) from arguments>",
        summary: "Invalid argument value for -var variable")
    }
  }

  /// A value from the environment or the command line: a string for a variable of type
  /// string, number or any (converted to the type), else an HCL expression.
  func assignText(_ text: String, to index: Int, from: String, origin: String, summary: String) {
    let variable = variables[index]
    var value: HCLValue = .string(text)
    switch variable.type {
    case .string, .number, .dynamic:
      break
    default:
      let (expression, problems) = HCL.parseExpression(text, filename: origin)
      report(problems)
      if problems.hasErrors { return }
      let result = expression.evaluate(in: .empty)
      report(result.diagnostics)
      value = result.value
    }
    do {
      value = try HCLConvert.convert(value, to: variable.type)
    } catch {
      report(
        summary, "The value for \(variable.name) is not compatible with the variable's type constraint: \(error.message). (\(origin))", at: nil)
      value = .dynamicUnknown
    }
    variables[index].values.append(.init(from: from, value: value, range: nil))
  }

  func readVariableFile(_ file: String) {
    guard let hcl = HCLInputs.read(file) else {
      diagnostics.error("cannot read variable file \(file): no such file", at: nil)
      return
    }
    sources[file] = hcl.bytes
    report(hcl.diagnostics)
    if hcl.diagnostics.hasErrors { return }
    if case .native(let body) = hcl.body, !body.blocks.isEmpty {
      for block in body.blocks {
        let name = block.labels.first ?? block.type
        report(
          block.type == "variable" ? "Variable declaration in a .pkrvar file" : "Unexpected \"\(block.type)\" block",
          "A .pkrvar file is used to assign values to variables that have already been declared in .pkr files, not to declare new variables. To set a value for this variable in \(file), use the definition syntax instead:\n    \(name) = <value>",
          at: block.typeRange)
      }
      return
    }
    let (attributes, problems) = hcl.body.justAttributes()
    report(problems)
    for attribute in attributes {
      guard let index = variables.firstIndex(where: { $0.name == attribute.name }) else {
        report(
          "Undefined variable",
          "The variable \"\(attribute.name)\" was set but was not declared as an input variable. To declare variable \"\(attribute.name)\" place this block in one of your .pkr.hcl files, such as variables.pkr.hcl",
          at: attribute.range, severity: .warning)
        continue
      }
      let result = attribute.expression.evaluate(in: .empty)
      report(result.diagnostics)
      var value = result.value
      do {
        value = try HCLConvert.convert(value, to: variables[index].type)
      } catch {
        report(
          "Invalid value for variable",
          "The value for \(attribute.name) is not compatible with the variable's type constraint: \(error.message).", at: attribute.expression.range)
        value = .dynamicUnknown
      }
      variables[index].values.append(.init(from: "varfile", value: value, range: attribute.expression.range))
    }
  }

  /// Every variable has a value, and its value passes its `validation` rules.
  func checkVariableValues() {
    for variable in variables {
      guard let assignment = variable.values.last else {
        report(
          "Unset variable \"\(variable.name)\"",
          "A used variable must be set or have a default value; see https://packer.io/docs/templates/hcl_templates/syntax for details.",
          at: variable.range)
        continue
      }
      for validation in variable.validations {
        let context = EvalContext(variables: ["var": .object([variable.name: assignment.value])], functions: functions)
        let result = validation.condition.evaluate(in: context)
        report(result.diagnostics)
        guard result.value.isKnown, !result.diagnostics.hasErrors else { continue }
        guard case .bool(let passed) = (try? HCLConvert.convert(result.value, to: .bool)) ?? .dynamicNull else {
          report(
            "Invalid variable validation result", "Validation condition expression must return either true or false.",
            at: validation.condition.range)
          continue
        }
        if !passed {
          let rule = validation.range
          report(
            "Invalid value for \(assignment.from) variable",
            "\(validation.errorMessage)\n\nThis was checked by the validation rule at \(rule.filename):\(rule.start.line),\(rule.start.column)-\(rule.end.column).",
            at: assignment.range ?? (assignment.from == "cmd" || assignment.from == "env" ? nil : rule))
        }
      }
    }
  }

  func inputValues() -> [String: HCLValue] {
    Dictionary(variables.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
  }

  /// The variables as Kiln's other layers see them: primitive values as text, and the
  /// strings of every sensitive variable and local, to be masked in all output.
  func resolvedVariables() -> ResolvedVariables {
    var values: [String: String] = [:]
    for variable in variables {
      if case .string(let text)? = try? HCLConvert.convert(variable.value, to: .string) { values[variable.name] = text }
    }
    var secrets: [String] = []
    func strings(_ value: HCLValue) {
      switch value {
      case .string(let text): if !text.isEmpty { secrets.append(text) }
      case .number, .bool:
        if case .string(let text)? = try? HCLConvert.convert(value, to: .string) { secrets.append(text) }
      case .list(let elements, _), .set(let elements, _), .tuple(let elements): elements.forEach(strings)
      case .map(let elements, _), .object(let elements): elements.values.forEach(strings)
      case .null, .unknown: break
      }
    }
    for variable in variables where variable.sensitive { strings(variable.value) }
    for local in locals where local.sensitive { strings(localValues[local.name] ?? .dynamicNull) }
    secrets += dataSecrets
    return ResolvedVariables(values: values, sensitiveValues: secrets, diagnostics: Diagnostics())
  }
}
