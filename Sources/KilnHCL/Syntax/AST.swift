/// One step after a variable or expression: `.name`, or an index with a constant key
/// (`[0]`, `["k"]`, or the legacy `.0`).
public enum TraversalStep: Sendable {
  case attribute(String, HCLRange)
  case index(HCLValue, HCLRange)

  public var range: HCLRange {
    switch self {
    case .attribute(_, let range), .index(_, let range): range
    }
  }
}

public enum BinaryOperator: String, Sendable, CaseIterable {
  case or = "||"
  case and = "&&"
  case equal = "=="
  case notEqual = "!="
  case greaterThan = ">"
  case greaterThanOrEqual = ">="
  case lessThan = "<"
  case lessThanOrEqual = "<="
  case add = "+"
  case subtract = "-"
  case multiply = "*"
  case divide = "/"
  case modulo = "%"

  /// The operand type (both sides are converted to it) and the result type.
  var operandType: HCLType {
    switch self {
    case .or, .and: .bool
    case .equal, .notEqual: .dynamic
    default: .number
    }
  }

  var resultType: HCLType {
    switch self {
    case .add, .subtract, .multiply, .divide, .modulo: .number
    default: .bool
    }
  }
}

public enum UnaryOperator: String, Sendable {
  case negate = "-"
  case not = "!"
}

/// An expression of the native syntax, with its source range (every node has one) and the
/// range its diagnostics start at (HCL's `StartRange`: a call's name, an operator's left side).
public struct Expression: Sendable {
  public indirect enum Kind: Sendable {
    case literal(HCLValue)
    /// A variable and the steps after it: `var.region`, `local.tags["team"]`.
    case scopeTraversal(root: String, rootRange: HCLRange, steps: [TraversalStep])
    /// Steps after any other expression: `f(x).name`, `[1, 2][0]`.
    case relativeTraversal(source: Expression, steps: [TraversalStep])
    case functionCall(FunctionCall)
    case conditional(condition: Expression, whenTrue: Expression, whenFalse: Expression)
    case binary(BinaryOperator, Expression, Expression)
    case unary(UnaryOperator, Expression)
    /// A template: its parts are joined as strings.
    case template([Expression])
    /// A template of a single interpolation (`"${x}"`): its value, not converted to string.
    case templateWrap(Expression)
    /// A template `%{for}` directive: a tuple `for` whose elements are joined as strings.
    case templateJoin(Expression)
    case tuple([Expression])
    case object([ObjectItem])
    /// An object key: a bare name is a literal string unless in parentheses.
    case objectKey(Expression, forceNonLiteral: Bool)
    case forExpression(ForClause)
    /// An index with a key computed at evaluation: `list[var.i]`.
    case index(collection: Expression, key: Expression, bracketRange: HCLRange)
    /// `source[*].each` or `source.*.each`; `each` refers to the element as `anonymous(id)`.
    case splat(source: Expression, each: Expression, itemID: Int)
    /// The element being visited by the splat with this id.
    case anonymous(id: Int)
    case parentheses(Expression)
  }

  public struct FunctionCall: Sendable {
    public var name: String
    public var nameRange: HCLRange
    public var arguments: [Expression]
    /// The last argument is followed by `...`: its elements are the arguments.
    public var expandFinal: Bool
    public var openParenRange: HCLRange
    public var closeParenRange: HCLRange
  }

  public struct ObjectItem: Sendable {
    public var key: Expression
    public var value: Expression
  }

  public struct ForClause: Sendable {
    public var keyVariable: String?
    public var valueVariable: String
    public var collection: Expression
    /// nil for a tuple `for`.
    public var key: Expression?
    public var value: Expression
    public var condition: Expression?
    /// `...` after the value: group values by key.
    public var grouping: Bool
    public var openRange: HCLRange
    public var closeRange: HCLRange
  }

  public var kind: Kind
  public var range: HCLRange
  public var startRange: HCLRange
  /// Nesting depth of this node (1 for a leaf), bounded by the parser.
  public var depth: Int

  init(_ kind: Kind, range: HCLRange, startRange: HCLRange? = nil) {
    self.kind = kind
    self.range = range
    self.startRange = startRange ?? range
    self.depth = 1 + (kind.children.map(\.depth).max() ?? 0)
  }

  /// A placeholder where a syntax error left no expression: an unknown of any type.
  static func placeholder(_ range: HCLRange) -> Expression {
    Expression(.literal(.dynamicUnknown), range: range)
  }

  /// The literal string this expression stands for, if it is one (a quoted string without
  /// templates).
  var literalString: String? {
    switch kind {
    case .template(let parts) where parts.count == 1:
      if case .literal(.string(let text)) = parts[0].kind { return text }
      return nil
    default: return nil
    }
  }

  /// The single name of a bare variable or keyword, as HCL's `ExprAsKeyword`.
  var keyword: String? {
    switch kind {
    case .scopeTraversal(let root, _, let steps) where steps.isEmpty: root
    case .literal(.bool(true)): "true"
    case .literal(.bool(false)): "false"
    case .literal(.null): "null"
    default: nil
    }
  }
}

extension Expression.Kind {
  var children: [Expression] {
    switch self {
    case .literal, .scopeTraversal, .anonymous: []
    case .relativeTraversal(let source, _): [source]
    case .functionCall(let call): call.arguments
    case .conditional(let c, let t, let f): [c, t, f]
    case .binary(_, let l, let r): [l, r]
    case .unary(_, let operand): [operand]
    case .template(let parts): parts
    case .templateWrap(let inner), .templateJoin(let inner), .parentheses(let inner): [inner]
    case .tuple(let elements): elements
    case .object(let items): items.flatMap { [$0.key, $0.value] }
    case .objectKey(let inner, _): [inner]
    case .forExpression(let clause): [clause.collection, clause.value] + [clause.key, clause.condition].compactMap { $0 }
    case .index(let collection, let key, _): [collection, key]
    case .splat(let source, let each, _): [source, each]
    }
  }
}

/// `name = expression`.
public struct Attribute: Sendable {
  public var name: String
  public var expression: HCLExpression
  public var range: HCLRange
  public var nameRange: HCLRange
}

/// `type "label" … { body }`.
public struct Block: Sendable {
  public var type: String
  public var labels: [String]
  public var body: HCLBody
  public var typeRange: HCLRange
  public var labelRanges: [HCLRange]
  public var openBraceRange: HCLRange
  public var closeBraceRange: HCLRange

  /// From the type name to the opening brace: where diagnostics about a block point.
  public var definitionRange: HCLRange { HCLRange.between(typeRange, openBraceRange) }
}

/// A native-syntax body: attributes (each name once, in source order) and blocks.
public struct NativeBody: Sendable {
  public var attributes: [Attribute]
  public var blocks: [Block]
  public var range: HCLRange
  /// An empty range just after the body's end (where "missing" diagnostics point).
  public var endRange: HCLRange
}
