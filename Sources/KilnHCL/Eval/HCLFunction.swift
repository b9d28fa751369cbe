/// A function callable from HCL: its parameters (types arguments are converted to), and its
/// implementation. `HCLStandardFunction` is the table of the ones Packer exposes.
public struct HCLFunction: Sendable {
  public struct Parameter: Sendable {
    public var name: String
    public var type: HCLType
    public var allowNull: Bool
    public var allowUnknown: Bool

    public init(_ name: String, _ type: HCLType, allowNull: Bool = false, allowUnknown: Bool = false) {
      self.name = name
      self.type = type
      self.allowNull = allowNull
      self.allowUnknown = allowUnknown
    }
  }

  /// How the function gets its arguments.
  public enum Body: Sendable {
    /// Values, converted to the parameter types.
    case values(@Sendable (_ arguments: [HCLValue], _ limits: EvalLimits) throws(HCLFunctionError) -> HCLValue)
    /// `try`: the argument expressions, evaluated one by one until one succeeds.
    case firstSuccessful
    /// `can`: whether the argument expression evaluates without error.
    case succeeds
    /// `convert(value, type)`: the first argument's value converted to the type the second
    /// argument writes as a type expression (read statically, as ext/typeexpr does).
    case typeConversion
    /// The result is another expression's value in another context (`templatefile`): the
    /// evaluator evaluates it within what remains of the calling evaluation's bounds, and
    /// counts its steps and bytes there, so that no number of calls can multiply them.
    case rendering(@Sendable (_ arguments: [HCLValue]) throws(HCLFunctionError) -> Rendering)
  }

  /// What a `.rendering` function gives: the expression, its context, and how an error in
  /// it is told in the call's message.
  public struct Rendering: Sendable {
    public var expression: HCLExpression
    public var context: EvalContext
    public var explain: @Sendable (HCLDiagnostic) -> String

    public init(expression: HCLExpression, context: EvalContext, explain: @escaping @Sendable (HCLDiagnostic) -> String) {
      self.expression = expression
      self.context = context
      self.explain = explain
    }
  }

  public var parameters: [Parameter]
  public var variadic: Parameter?
  /// The result type when some argument is unknown (so the result is too).
  public var returnType: HCLType
  public var body: Body

  public init(parameters: [Parameter], variadic: Parameter? = nil, returnType: HCLType, body: Body) {
    self.parameters = parameters
    self.variadic = variadic
    self.returnType = returnType
    self.body = body
  }
}

/// Why a call failed: about one argument (the diagnostic points at it), or in general.
public enum HCLFunctionError: Error, Sendable, Equatable {
  case argument(Int, String)
  case general(String)
}
