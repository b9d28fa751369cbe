/// HCL's type expressions (`string`, `list(number)`, `map(any)`, `object({a = string})`,
/// `tuple([bool, string])`), as ext/typeexpr reads them: the form a Packer `variable` block's
/// `type` argument takes. Read statically, never evaluated.
public enum HCLTypeExpression {
  /// The type `expression` writes, or diagnostics saying why it is not one.
  public static func type(of expression: HCLExpression) -> (HCLType?, [HCLDiagnostic]) {
    guard case .native(let native) = expression else {
      return (nil, [.error("Invalid type specification", "A type specification must be written in HCL's native syntax.", expression.range)])
    }
    var diagnostics: [HCLDiagnostic] = []
    let type = read(native, &diagnostics)
    return (diagnostics.isEmpty ? type : nil, diagnostics)
  }

  private static func invalid(_ detail: String, _ range: HCLRange, _ diagnostics: inout [HCLDiagnostic]) -> HCLType? {
    diagnostics.append(.error("Invalid type specification", detail, range))
    return nil
  }

  private static func read(_ expression: Expression, _ diagnostics: inout [HCLDiagnostic]) -> HCLType? {
    switch expression.kind {
    case .parentheses(let inner):
      return read(inner, &diagnostics)
    case .scopeTraversal(let root, _, let steps) where steps.isEmpty:
      switch root {
      case "string": return .string
      case "number": return .number
      case "bool": return .bool
      case "any": return .dynamic
      case "list", "map", "set":
        return invalid("The \(root) type constructor requires one argument specifying the element type.", expression.range, &diagnostics)
      case "object":
        return invalid("The object type constructor requires one argument specifying the attribute types as a map.", expression.range, &diagnostics)
      case "tuple":
        return invalid("The tuple type constructor requires one argument specifying the element types as a list.", expression.range, &diagnostics)
      default:
        return invalid("The keyword \"\(root)\" is not a valid type specification.", expression.range, &diagnostics)
      }
    case .functionCall(let call):
      guard call.arguments.count == 1, !call.expandFinal else {
        return invalid("The \(call.name) type constructor requires exactly one argument.", expression.range, &diagnostics)
      }
      let argument = call.arguments[0]
      switch call.name {
      case "list", "set", "map":
        guard let element = read(argument, &diagnostics) else { return nil }
        return call.name == "list" ? .list(element) : call.name == "set" ? .set(element) : .map(element)
      case "object":
        guard case .object(let items) = argument.kind else {
          return invalid(
            "Object type constructor requires a map whose keys are attribute names and whose values are the corresponding attribute types.",
            argument.range, &diagnostics)
        }
        var attributes: [String: HCLType] = [:]
        for item in items {
          guard case .objectKey(let key, _) = item.key.kind, let name = key.keyword ?? key.literalString else {
            return invalid("Object constructor map keys must be attribute names.", item.key.range, &diagnostics)
          }
          guard let type = read(item.value, &diagnostics) else { return nil }
          attributes[name] = type
        }
        return .object(attributes)
      case "tuple":
        guard case .tuple(let elements) = argument.kind else {
          return invalid("Tuple type constructor requires a list of element types.", argument.range, &diagnostics)
        }
        var types: [HCLType] = []
        for element in elements {
          guard let type = read(element, &diagnostics) else { return nil }
          types.append(type)
        }
        return .tuple(types)
      default:
        return invalid("Keyword \"\(call.name)\" is not a valid type constructor.", call.nameRange, &diagnostics)
      }
    default:
      return invalid(
        "A type specification is either a primitive type keyword (bool, number, string) or a complex type constructor call, like list(string).",
        expression.range, &diagnostics)
    }
  }
}
