import Foundation

/// `templatefile(path, vars)`: a file read as an HCL template and rendered with `vars` as
/// its only variables and Packer's functions, except `templatefile` itself (a template
/// cannot render templates, so rendering never recurses).
enum TemplateFile {
  /// The template and the context to render it in; the evaluator renders it (`.rendering`).
  static func prepare(_ path: String, _ vars: HCLValue, _ context: PackerFunctionContext) throws(HCLFunctionError)
    -> HCLFunction.Rendering
  {
    let variables: [String: HCLValue]
    switch vars {
    case .map(let elements, _), .object(let elements): variables = elements
    case .null: throw .argument(1, "argument must not be null")
    default: throw .argument(1, "invalid vars value: must be a map")
    }
    for name in variables.keys where !isIdentifier(name) {
      throw .argument(
        1,
        "invalid template variable name \(GoQuote.quote(name)): must start with a letter, followed by zero or more letters, digits, and underscores")
    }
    let resolved = try FileFunctions.resolve(path, context)
    let text = try FileFunctions.text(try FileFunctions.read(resolved, shown: path), path)
    let (expression, parseProblems) = HCL.parseTemplate(text, filename: path)
    if let problem = parseProblems.first(where: { $0.severity == .error }) { throw .general(problem.description) }
    var functions = PackerFunctions.table(context)
    functions["templatefile"] = HCLFunction(
      parameters: [HCLFunction.Parameter("path", .string), HCLFunction.Parameter("vars", .dynamic)], returnType: .dynamic,
      body: .values { _, _ throws(HCLFunctionError) in
        throw .general("cannot recursively call templatefile from inside templatefile call")
      })
    return HCLFunction.Rendering(expression: expression, context: EvalContext(variables: variables, functions: functions)) { problem in
      if problem.summary == "Unknown variable", let range = problem.subject {
        let name = problem.detail.split(separator: "\"").dropFirst().first.map(String.init) ?? "?"
        return
          "vars map does not contain key \(GoQuote.quote(name)), referenced at \(range.filename):\(range.start.line),\(range.start.column)-\(range.end.column)"
      }
      return problem.description
    }
  }

  static func isIdentifier(_ name: String) -> Bool {
    guard let first = name.unicodeScalars.first, first.properties.isAlphabetic || first == "_" else { return false }
    return name.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || $0.properties.numericType != nil || $0 == "_" || $0 == "-" }
  }
}
