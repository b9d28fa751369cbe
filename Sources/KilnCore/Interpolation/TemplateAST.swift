/// The parsed form of one string that may contain `{{ }}` actions: the part of Go's
/// text/template that Packer templates use (actions, pipelines, function calls, `.Field`
/// access, backtick and double-quoted strings, numbers, `if`/`else`/`with`/`range`/`end`,
/// comments and `{{-`/`-}}` trimming).
///
/// Every node keeps the byte offset where it starts in the string, so an error can point at
/// the exact column of the template file (`JSONNode.location(ofDecodedByte:)`).
public struct InterpolationTemplate: Sendable {
  public indirect enum Node: Sendable {
    case text(String)
    case action(Pipeline)
    case conditional(kind: BlockKind, Pipeline, then: [Node], otherwise: [Node])
  }

  public enum BlockKind: String, Sendable { case `if`, with, range }

  public struct Pipeline: Sendable {
    public var commands: [Command]
    public var offset: Int
    /// The action's text as written (from `{{` to `}}`), re-emitted when its value is
    /// deferred to a later phase.
    public var source: String
  }

  public struct Command: Sendable {
    public var operands: [Operand]
    public var offset: Int
  }

  public indirect enum Operand: Sendable {
    case function(InterpolationFunction, offset: Int)
    /// `.A.B`; an empty path is `.` itself.
    case field([String], offset: Int)
    case string(String, offset: Int)
    case integer(Int, offset: Int)
    case float(Double, offset: Int)
    case bool(Bool, offset: Int)
    case null(offset: Int)
    case pipeline(Pipeline)

    public var offset: Int {
      switch self {
      case .function(_, let o), .field(_, let o), .string(_, let o), .integer(_, let o),
        .float(_, let o), .bool(_, let o), .null(let o):
        o
      case .pipeline(let p): p.offset
      }
    }
  }

  /// The string as written.
  public let source: String
  public let nodes: [Node]

  /// True when the string has no action at all (the common case: rendering is a copy).
  public var isPlainText: Bool {
    nodes.allSatisfy { if case .text = $0 { true } else { false } }
  }

  /// The variables the template names with a constant `{{user `name`}}` call, in order, with
  /// the offset of each call (a computed name, `{{user (lower `A`)}}`, is not known here).
  public var constantUserReferences: [(name: String, offset: Int)] {
    var references: [(String, Int)] = []
    forEachCommand { command in
      if command.operands.count == 2, case .function(.user, let offset) = command.operands[0],
        case .string(let name, _) = command.operands[1]
      {
        references.append((name, offset))
      }
    }
    return references
  }

  /// Every command of every action, parenthesised ones and those in blocks included.
  private func forEachCommand(_ body: (Command) -> Void) {
    func visit(_ pipeline: Pipeline) {
      for command in pipeline.commands {
        body(command)
        for case .pipeline(let inner) in command.operands { visit(inner) }
      }
    }
    func visit(_ nodes: [Node]) {
      for node in nodes {
        switch node {
        case .text: break
        case .action(let p): visit(p)
        case .conditional(_, let p, let a, let b):
          visit(p)
          visit(a)
          visit(b)
        }
      }
    }
    visit(nodes)
  }
}

/// A problem in a `{{ }}` expression: a syntax error or a failure while evaluating it.
/// `offset` is the byte offset in the string where the problem is.
public struct InterpolationError: Error, Sendable, CustomStringConvertible {
  public var message: String
  public var offset: Int
  /// True when the problem is in a value the string pulled in (a variable whose value holds
  /// `{{ }}`), not in the string itself; `offset` then points at nothing in the string.
  public var inValue = false
  /// Set when the problem is only that `{{user}}` named a variable listed in
  /// `RenderContext.pendingVariables`: the caller resolves that one first and tries again.
  public var pendingVariable: String?

  public init(_ message: String, at offset: Int) {
    self.message = message
    self.offset = offset
  }

  public var description: String { message }
}
