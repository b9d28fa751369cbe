/// What an expression is evaluated against: variables (a tree of values) and functions.
///
/// `variables == nil` means variables are not allowed here ("Variables not allowed"), as an
/// HCL evaluation without a context; `functions == nil` likewise for function calls.
public struct EvalContext: Sendable {
  public var variables: [String: HCLValue]?
  public var functions: [String: HCLFunction]?

  public init(variables: [String: HCLValue]? = [:], functions: [String: HCLFunction]? = HCLStandardFunction.table) {
    self.variables = variables
    self.functions = functions
  }

  /// No variables, no functions: literals and operators only.
  public static let empty = EvalContext(variables: nil, functions: nil)
}

/// Bounds on one evaluation, so that no expression can run for long or build a huge value.
public struct EvalLimits: Sendable {
  /// Expression nodes evaluated (each loop iteration counts its body again).
  public var steps: Int
  /// Elements in one collection a function or `for` builds.
  public var elements: Int
  /// Bytes in one string a template or function builds.
  public var stringBytes: Int
  /// Bytes of strings (and elements of collections) built by templates and functions over
  /// the whole evaluation, so that many large results cannot add up either.
  public var totalBytes: Int

  public init(steps: Int = 2_000_000, elements: Int = 1 << 20, stringBytes: Int = 16 << 20, totalBytes: Int = 64 << 20) {
    self.steps = steps
    self.elements = elements
    self.stringBytes = stringBytes
    self.totalBytes = totalBytes
  }

  public static let standard = EvalLimits()
}
