/// A reference to a variable of the evaluation context: its root name and the constant steps
/// after it (`local.tags["team"]` is `local`, then `.tags`, then `["team"]`), as HCL's
/// `Expression.Variables()` gives them.
public struct HCLTraversal: Sendable {
  public var root: String
  public var steps: [TraversalStep]
  /// From the root's start to the last step's end.
  public var range: HCLRange

  /// The name of the first attribute step (`local.NAME`, `var.NAME`), when there is one.
  public var firstAttribute: String? {
    guard case .attribute(let name, _)? = steps.first else { return nil }
    return name
  }
}

extension HCLExpression {
  /// Every reference to a context variable the expression makes, in source order. Names a
  /// `for` expression binds are its own, not references; so are splat elements.
  public var traversals: [HCLTraversal] {
    var found: [HCLTraversal] = []
    switch self {
    case .native(let expression): Self.collect(expression, bound: [], into: &found)
    case .json(let node): Self.collect(node, into: &found)
    }
    return found
  }

  private static func collect(_ expression: Expression, bound: Set<String>, into found: inout [HCLTraversal]) {
    switch expression.kind {
    case .scopeTraversal(let root, let rootRange, let steps):
      if !bound.contains(root) {
        let end = steps.last?.range ?? rootRange
        found.append(HCLTraversal(root: root, steps: steps, range: .between(rootRange, end)))
      }
    case .forExpression(let clause):
      collect(clause.collection, bound: bound, into: &found)
      var inner = bound
      inner.insert(clause.valueVariable)
      if let key = clause.keyVariable { inner.insert(key) }
      for part in [clause.key, clause.value, clause.condition].compactMap({ $0 }) {
        collect(part, bound: inner, into: &found)
      }
    default:
      for child in expression.kind.children { collect(child, bound: bound, into: &found) }
    }
  }

  /// In HCL's JSON syntax every string (and object key) is a template.
  private static func collect(_ node: JSONNode, into found: inout [HCLTraversal]) {
    func template(_ text: String, _ range: HCLRange) {
      guard text.utf8.contains(UInt8(ascii: "$")) || text.utf8.contains(UInt8(ascii: "%")) else { return }
      var start = range.start
      start.byte += 1
      start.column += 1
      let (expression, diagnostics) = Parser.parseTemplate(Array(text.utf8), filename: range.filename, start: start)
      if !diagnostics.hasErrors { collect(expression, bound: [], into: &found) }
    }
    switch node.kind {
    case .string(let text): template(text, node.range)
    case .array(let elements, _): for element in elements { collect(element, into: &found) }
    case .object(let properties, _, _):
      for property in properties {
        template(property.name, property.nameRange)
        collect(property.value, into: &found)
      }
    default: break
    }
  }
}
