/// A value and what evaluating it found.
public struct Evaluated: Sendable {
  public var value: HCLValue
  public var diagnostics: [HCLDiagnostic]

  public init(_ value: HCLValue, _ diagnostics: [HCLDiagnostic] = []) {
    self.value = value
    self.diagnostics = diagnostics
  }
}

extension HCLExpression {
  /// Evaluates the expression: its value, and every problem found on the way (a value is
  /// still returned, unknown where something failed).
  public func evaluate(in context: EvalContext, limits: EvalLimits = .standard) -> Evaluated {
    let evaluator = Evaluator(context: context, limits: limits)
    var result =
      switch self {
      case .native(let expression): evaluator.value(expression, Scope())
      case .json(let node): evaluator.jsonValue(node, Scope())
      }
    if evaluator.overflowed {
      result.value = .dynamicUnknown
      result.diagnostics.append(
        .error(
          "Result too large", "Evaluating this expression built more than \(limits.totalBytes) bytes of values, more than Kiln allows.", range))
    } else if evaluator.exhausted {
      result.value = .dynamicUnknown
      result.diagnostics.append(
        .error(
          "Evaluation too costly", "Evaluating this expression took more than \(limits.steps) steps, more than Kiln allows.", range))
    }
    return result
  }

  /// The value, or an error carrying every diagnostic.
  public func value(in context: EvalContext, limits: EvalLimits = .standard) throws(HCLError) -> HCLValue {
    let result = evaluate(in: context, limits: limits)
    if result.diagnostics.hasErrors { throw HCLError(result.diagnostics) }
    return result.value
  }
}

/// Local names: `for` variables and splat elements, over the context's variables.
struct Scope {
  var locals: [String: HCLValue] = [:]
  var anonymous: [Int: HCLValue] = [:]
}

/// Walks an expression tree. One instance per evaluation: it counts steps against the limit.
final class Evaluator {
  let context: EvalContext
  let limits: EvalLimits
  private var steps = 0
  private var produced = 0
  private(set) var exhausted = false
  private(set) var overflowed = false

  init(context: EvalContext, limits: EvalLimits) {
    self.context = context
    self.limits = limits
  }

  private func step() -> Bool {
    steps += 1
    if steps > limits.steps { exhausted = true }
    return !exhausted
  }

  /// Counts what a template or function built against `totalBytes`; past it, evaluation
  /// stops as when out of steps.
  private func account(_ value: HCLValue) {
    switch value {
    case .string(let text): produced += text.utf8.count
    default: produced += value.length ?? 1
    }
    if produced > limits.totalBytes {
      overflowed = true
      exhausted = true
    }
  }

  // MARK: - Native expressions

  func value(_ expression: Expression, _ scope: Scope) -> Evaluated {
    guard step() else { return Evaluated(.dynamicUnknown) }
    switch expression.kind {
    case .literal(let value):
      return Evaluated(value)
    case .parentheses(let inner):
      return value(inner, scope)
    case .scopeTraversal(let root, let rootRange, let steps):
      let start: HCLValue
      if let local = scope.locals[root] {
        start = local
      } else {
        guard let variables = context.variables else {
          return Evaluated(.dynamicUnknown, [.error("Variables not allowed", "Variables may not be used here.", rootRange)])
        }
        guard let found = variables[root] else {
          let names = Array(variables.keys) + Array(scope.locals.keys)
          let suggestion = Suggestions.closest(root, among: names).map { " Did you mean \"\($0)\"?" } ?? ""
          return Evaluated(.dynamicUnknown, [.error("Unknown variable", "There is no variable named \"\(root)\".\(suggestion)", rootRange)])
        }
        start = found
      }
      return traverse(start, steps)
    case .relativeTraversal(let source, let steps):
      let base = value(source, scope)
      var result = traverse(base.value, steps)
      result.diagnostics = base.diagnostics + result.diagnostics
      return result
    case .functionCall(let call):
      return callFunction(call, range: expression.range, startRange: expression.startRange, scope)
    case .conditional(let condition, let whenTrue, let whenFalse):
      return conditional(condition, whenTrue, whenFalse, range: expression.range, scope)
    case .binary(let op, let lhs, let rhs):
      return binary(op, lhs, rhs, range: expression.range, scope)
    case .unary(let op, let operand):
      return unary(op, operand, range: expression.range, scope)
    case .template(let parts):
      return template(parts, range: expression.range, scope)
    case .templateWrap(let inner):
      return value(inner, scope)
    case .templateJoin(let tuple):
      return templateJoin(tuple, scope)
    case .tuple(let elements):
      var values: [HCLValue] = []
      var diagnostics: [HCLDiagnostic] = []
      for element in elements {
        let result = value(element, scope)
        values.append(result.value)
        diagnostics += result.diagnostics
      }
      return Evaluated(.tuple(values), diagnostics)
    case .object(let items):
      return object(items, scope)
    case .objectKey(let inner, let forceNonLiteral):
      return objectKey(inner, forceNonLiteral: forceNonLiteral, range: expression.range, scope)
    case .forExpression(let clause):
      return forExpression(clause, range: expression.range, scope)
    case .index(let collection, let key, let bracketRange):
      let base = value(collection, scope)
      let keyValue = value(key, scope)
      let (result, problems) = Evaluator.index(base.value, keyValue.value, bracketRange)
      return Evaluated(result, base.diagnostics + keyValue.diagnostics + problems)
    case .splat(let source, let each, let itemID):
      return splat(source: source, each: each, itemID: itemID, markerRange: expression.startRange, scope)
    case .anonymous(let id):
      return Evaluated(scope.anonymous[id] ?? .dynamicUnknown)
    }
  }

  private func traverse(_ start: HCLValue, _ steps: [TraversalStep]) -> Evaluated {
    var current = start
    for step in steps {
      let problems: [HCLDiagnostic]
      switch step {
      case .attribute(let name, let range): (current, problems) = Evaluator.getAttribute(current, name, range)
      case .index(let key, let range): (current, problems) = Evaluator.index(current, key, range)
      }
      if problems.hasErrors { return Evaluated(.dynamicUnknown, problems) }
    }
    return Evaluated(current)
  }

  /// HCL's `GetAttr`: an object's attribute or a map's element.
  static func getAttribute(_ value: HCLValue, _ name: String, _ range: HCLRange) -> (HCLValue, [HCLDiagnostic]) {
    if value.isNull {
      return (.dynamicUnknown, [.error("Attempt to get attribute from null value", "This value is null, so it does not have any attributes.", range)])
    }
    let unsupported = "Unsupported attribute"
    switch value.type {
    case .object(let attributes):
      guard let type = attributes[name] else {
        return (.dynamicUnknown, [.error(unsupported, "This object does not have an attribute named \"\(name)\".", range)])
      }
      guard case .object(let values) = value else { return (.unknown(type), []) }
      return (values[name] ?? .null(type), [])
    case .map(let element):
      guard case .map(let values, _) = value else { return (.unknown(element), []) }
      guard let found = values[name] else {
        return (.dynamicUnknown, [.error("Missing map element", "This map does not have an element with the key \"\(name)\".", range)])
      }
      return (found, [])
    case .dynamic:
      return (.dynamicUnknown, [])
    case .list(.object(let attributes)):
      let detail =
        attributes[name] != nil
        ? "Can't access attributes on a list of objects. Did you mean to access attribute \"\(name)\" for a specific element of the list, or across all elements of the list?"
        : "Can't access attributes on a list of objects. Did you mean to access an attribute for a specific element of the list, or across all elements of the list?"
      return (.dynamicUnknown, [.error(unsupported, detail, range)])
    case .set(.object):
      return (
        .dynamicUnknown,
        [
          .error(
            unsupported, "Can't access attributes on a set of objects. Did you mean to access an attribute across all elements of the set?", range)
        ]
      )
    case .string, .number, .bool:
      return (.dynamicUnknown, [.error(unsupported, "Can't access attributes on a primitive-typed value (\(value.type.friendlyName)).", range)])
    default:
      return (.dynamicUnknown, [.error(unsupported, "This value does not have any attributes.", range)])
    }
  }

  /// HCL's `Index`: a sequence element by number, a map element or object attribute by name.
  static func index(_ collection: HCLValue, _ key: HCLValue, _ range: HCLRange) -> (HCLValue, [HCLDiagnostic]) {
    let invalid = "Invalid index"
    if collection.isNull {
      return (.dynamicUnknown, [.error("Attempt to index null value", "This value is null, so it does not have any indices.", range)])
    }
    if key.isNull {
      return (.dynamicUnknown, [.error(invalid, "Can't use a null value as an indexing key.", range)])
    }
    if key.type == .dynamic || collection.type == .dynamic { return (.dynamicUnknown, []) }
    func missing(_ detail: String = "") -> (HCLValue, [HCLDiagnostic]) {
      (
        .dynamicUnknown,
        [.error(invalid, "The given key does not identify an element in this collection value\(detail.isEmpty ? "." : ": " + detail + ".")", range)]
      )
    }
    switch collection.type {
    case .list, .tuple, .map:
      let wantsNumber = !collection.type.isMap
      let converted: HCLValue
      do {
        converted = try HCLConvert.convert(key, to: wantsNumber ? .number : .string)
      } catch {
        return missing(error.message)
      }
      guard collection.isKnown, converted.isKnown else {
        if case .tuple = collection.type { return (.dynamicUnknown, []) }
        return (.unknown(collection.type.elementType ?? .dynamic), [])
      }
      if wantsNumber {
        guard case .number(let number) = converted, let elements = collection.sequenceElements else { return missing() }
        if let position = number.exactInt, position >= 0, position < elements.count { return (elements[position], []) }
        if !number.isInteger {
          return missing("indexing a sequence requires a whole number, but the given index has a fractional part")
        }
        if number.isNegative { return missing("a negative number is not a valid index for a sequence") }
        return missing(
          elements.isEmpty ? "the collection has no elements" : "the given index is greater than or equal to the length of the collection")
      }
      guard case .string(let name) = converted, case .map(let elements, _) = collection, let found = elements[name] else { return missing() }
      return (found, [])
    case .object(let attributes):
      let wasNumber = key.type == .number
      let converted: HCLValue
      do {
        converted = try HCLConvert.convert(key, to: .string)
      } catch {
        return missing(error.message)
      }
      guard collection.isKnown, case .string(let name) = converted else { return (.dynamicUnknown, []) }
      guard attributes[name] != nil, case .object(let values) = collection, let found = values[name] else {
        return (
          .dynamicUnknown,
          [
            .error(
              invalid,
              "The given key does not identify an element in this collection value.\(wasNumber ? " An object only supports looking up attributes by name, not by numeric index." : "")",
              range)
          ]
        )
      }
      return (found, [])
    case .set:
      return (
        .dynamicUnknown,
        [
          .error(
            invalid,
            "Elements of a set are identified only by their value and don't have any separate index or key to select with, so it's only possible to perform operations across all elements of the set.",
            range)
        ]
      )
    default:
      return (.dynamicUnknown, [.error(invalid, "This value does not have any indices.", range)])
    }
  }

  private func conditional(_ condition: Expression, _ whenTrue: Expression, _ whenFalse: Expression, range: HCLRange, _ scope: Scope) -> Evaluated {
    let trueResult = value(whenTrue, scope)
    let falseResult = value(whenFalse, scope)
    var resultType: HCLType? = .dynamic
    var convertTrue = false
    var convertFalse = false
    if trueResult.value.rawEquals(.dynamicNull) {
      resultType = falseResult.value.type
      convertTrue = true
    } else if falseResult.value.rawEquals(.dynamicNull) {
      resultType = trueResult.value.type
      convertFalse = true
    } else if trueResult.value.type == .dynamic || falseResult.value.type == .dynamic {
      resultType = .dynamic
    } else {
      resultType = HCLConvert.unify([trueResult.value.type, falseResult.value.type], lossy: true)
      convertTrue = resultType != trueResult.value.type
      convertFalse = resultType != falseResult.value.type
    }
    guard let resultType else {
      return Evaluated(
        .dynamicUnknown,
        [
          .error(
            "Inconsistent conditional result types",
            "The true and false result expressions must have consistent types. The 'true' value is \(trueResult.value.type.friendlyName), but the 'false' value is \(falseResult.value.type.friendlyName).",
            .between(whenTrue.range, whenFalse.range), context: range)
        ])
    }
    let conditionResult = value(condition, scope)
    var diagnostics = conditionResult.diagnostics
    if conditionResult.value.isNull {
      diagnostics.append(
        .error(
          "Null condition", "The condition value is null. Conditions must either be true or false.", condition.range, context: range))
      return Evaluated(.unknown(resultType), diagnostics)
    }
    guard conditionResult.value.isKnown else { return Evaluated(.unknown(resultType), diagnostics) }
    guard case .bool(let flag) = try? HCLConvert.convert(conditionResult.value, to: .bool) else {
      diagnostics.append(.error("Incorrect condition type", "The condition expression must be of type bool.", condition.range, context: range))
      return Evaluated(.unknown(resultType), diagnostics)
    }
    let (chosen, convert, which, expression) =
      flag ? (trueResult, convertTrue, "true", whenTrue) : (falseResult, convertFalse, "false", whenFalse)
    diagnostics += chosen.diagnostics
    var result = chosen.value
    if convert {
      do {
        result = try HCLConvert.convert(result, to: resultType)
      } catch {
        diagnostics.append(
          .error(
            "Inconsistent conditional result types", "The \(which) result value has the wrong type: \(error.message).", expression.range,
            context: range))
        result = .unknown(resultType)
      }
    }
    return Evaluated(result, diagnostics)
  }

  private func binary(_ op: BinaryOperator, _ lhs: Expression, _ rhs: Expression, range: HCLRange, _ scope: Scope) -> Evaluated {
    let left = value(lhs, scope)
    let right = value(rhs, scope)
    var diagnostics = left.diagnostics + right.diagnostics
    var leftValue = left.value
    var rightValue = right.value
    do {
      leftValue = try HCLConvert.convert(left.value, to: op.operandType)
    } catch {
      diagnostics.append(.error("Invalid operand", "Unsuitable value for left operand: \(error.message).", lhs.range, context: range))
    }
    do {
      rightValue = try HCLConvert.convert(right.value, to: op.operandType)
    } catch {
      diagnostics.append(.error("Invalid operand", "Unsuitable value for right operand: \(error.message).", rhs.range, context: range))
    }
    if diagnostics.hasErrors { return Evaluated(.unknown(op.resultType), diagnostics) }
    func failed(_ message: String) -> Evaluated {
      Evaluated(.unknown(op.resultType), diagnostics + [.error("Operation failed", "Error during operation: \(message).", range)])
    }
    if op == .equal || op == .notEqual {
      let equal = leftValue.equals(rightValue)
      guard case .bool(let flag) = equal else { return Evaluated(.unknown(.bool), diagnostics) }
      return Evaluated(.bool(op == .equal ? flag : !flag), diagnostics)
    }
    if leftValue.isNull || rightValue.isNull { return failed("argument must not be null") }
    guard leftValue.isKnown, rightValue.isKnown else { return Evaluated(.unknown(op.resultType), diagnostics) }
    switch (leftValue, rightValue) {
    case (.bool(let a), .bool(let b)):
      return Evaluated(.bool(op == .and ? a && b : a || b), diagnostics)
    case (.number(let a), .number(let b)):
      do throws(HCLNumber.ArithmeticError) {
        switch op {
        case .add: return Evaluated(.number(try a.adding(b)), diagnostics)
        case .subtract: return Evaluated(.number(try a.subtracting(b)), diagnostics)
        case .multiply: return Evaluated(.number(try a.multiplied(by: b)), diagnostics)
        case .divide: return Evaluated(.number(try a.divided(by: b)), diagnostics)
        case .modulo: return Evaluated(.number(try a.remainder(dividingBy: b)), diagnostics)
        case .lessThan: return Evaluated(.bool(HCLNumber.compare(a, b) < 0), diagnostics)
        case .lessThanOrEqual: return Evaluated(.bool(HCLNumber.compare(a, b) <= 0), diagnostics)
        case .greaterThan: return Evaluated(.bool(HCLNumber.compare(a, b) > 0), diagnostics)
        case .greaterThanOrEqual: return Evaluated(.bool(HCLNumber.compare(a, b) >= 0), diagnostics)
        default: return failed("unsupported operation")
        }
      } catch {
        switch op {
        case .add: return failed("can't compute sum of opposing infinities")
        case .subtract: return failed("can't subtract infinity from itself")
        case .multiply: return failed("can't multiply zero by infinity")
        case .divide: return failed("can't divide zero by zero or infinity by infinity")
        default: return failed("can't use modulo with zero and infinity")
        }
      }
    default:
      return failed("unsupported operand types")
    }
  }

  private func unary(_ op: UnaryOperator, _ operand: Expression, range: HCLRange, _ scope: Scope) -> Evaluated {
    let given = value(operand, scope)
    var diagnostics = given.diagnostics
    let resultType: HCLType = op == .negate ? .number : .bool
    let converted: HCLValue
    do {
      converted = try HCLConvert.convert(given.value, to: resultType)
    } catch {
      diagnostics.append(.error("Invalid operand", "Unsuitable value for unary operand: \(error.message).", operand.range, context: range))
      return Evaluated(.unknown(resultType), diagnostics)
    }
    if diagnostics.hasErrors { return Evaluated(.unknown(resultType), diagnostics) }
    if converted.isNull {
      return Evaluated(.unknown(resultType), diagnostics + [.error("Operation failed", "Error during operation: argument must not be null.", range)])
    }
    switch converted {
    case .number(let n): return Evaluated(.number(-n), diagnostics)
    case .bool(let b): return Evaluated(.bool(!b), diagnostics)
    default: return Evaluated(.unknown(resultType), diagnostics)
    }
  }

  private func template(_ parts: [Expression], range: HCLRange, _ scope: Scope) -> Evaluated {
    var text = ""
    var diagnostics: [HCLDiagnostic] = []
    var known = true
    for part in parts {
      let result = value(part, scope)
      diagnostics += result.diagnostics
      if result.value.isNull {
        diagnostics.append(
          .error(
            "Invalid template interpolation value",
            "The expression result is null. Cannot include a null value in a string template.", part.range, context: range))
        continue
      }
      guard result.value.isKnown else {
        known = false
        continue
      }
      do {
        guard case .string(let piece) = try HCLConvert.convert(result.value, to: .string) else {
          known = false
          continue
        }
        if text.utf8.count + piece.utf8.count > limits.stringBytes {
          diagnostics.append(tooLarge(part.range))
          return Evaluated(.unknown(.string), diagnostics)
        }
        text += piece
      } catch {
        diagnostics.append(
          .error(
            "Invalid template interpolation value", "Cannot include the given value in a string template: \(error.message).", part.range,
            context: range))
      }
    }
    let result: HCLValue = known ? .normalized(text) : .unknown(.string)
    account(result)
    return Evaluated(result, diagnostics)
  }

  private func tooLarge(_ range: HCLRange) -> HCLDiagnostic {
    .error("Result too large", "This value would be larger than Kiln allows (\(limits.elements) elements, \(limits.stringBytes) bytes).", range)
  }

  private func templateJoin(_ tuple: Expression, _ scope: Scope) -> Evaluated {
    let result = value(tuple, scope)
    var diagnostics = result.diagnostics
    guard case .tuple(let elements) = result.value else { return Evaluated(.unknown(.string), diagnostics) }
    var text = ""
    for element in elements {
      if element.isNull {
        diagnostics.append(
          .error(
            "Invalid template interpolation value", "An iteration result is null. Cannot include a null value in a string template.", tuple.range))
        continue
      }
      if element.type == .dynamic { return Evaluated(.unknown(.string), diagnostics) }
      do {
        let converted = try HCLConvert.convert(element, to: .string)
        guard case .string(let piece) = converted else { return Evaluated(.unknown(.string), diagnostics) }
        if text.utf8.count + piece.utf8.count > limits.stringBytes {
          diagnostics.append(tooLarge(tuple.range))
          return Evaluated(.unknown(.string), diagnostics)
        }
        text += piece
      } catch {
        diagnostics.append(
          .error(
            "Invalid template interpolation value",
            "Cannot include one of the interpolation results into the string template: \(error.message).", tuple.range))
      }
    }
    account(.string(text))
    return Evaluated(.normalized(text), diagnostics)
  }

  private func object(_ items: [Expression.ObjectItem], _ scope: Scope) -> Evaluated {
    var values: [String: HCLValue] = [:]
    var diagnostics: [HCLDiagnostic] = []
    var known = true
    for item in items {
      let key = value(item.key, scope)
      let itemValue = value(item.value, scope)
      diagnostics += key.diagnostics + itemValue.diagnostics
      if key.diagnostics.hasErrors {
        known = false
        continue
      }
      if key.value.isNull {
        diagnostics.append(.error("Null value as key", "Can't use a null value as a key.", item.value.range))
        known = false
        continue
      }
      let name: HCLValue
      do {
        name = try HCLConvert.convert(key.value, to: .string)
      } catch {
        diagnostics.append(.error("Incorrect key type", "Can't use this value as a key: \(error.message).", item.key.range))
        known = false
        continue
      }
      guard case .string(let text) = name else {
        known = false
        continue
      }
      values[text] = itemValue.value
    }
    return Evaluated(known ? .object(values) : .dynamicUnknown, diagnostics)
  }

  private func objectKey(_ inner: Expression, forceNonLiteral: Bool, range: HCLRange, _ scope: Scope) -> Evaluated {
    if !forceNonLiteral {
      if case .scopeTraversal(_, _, let steps) = inner.kind, !steps.isEmpty {
        return Evaluated(
          .dynamicUnknown,
          [
            .error(
              "Ambiguous attribute key",
              "If this expression is intended to be a reference, wrap it in parentheses. If it's instead intended as a literal name containing periods, wrap it in quotes to create a string literal.",
              range)
          ])
      }
      if let name = inner.keyword { return Evaluated(.string(name)) }
    }
    return value(inner, scope)
  }

  private func forExpression(_ clause: Expression.ForClause, range: HCLRange, _ scope: Scope) -> Evaluated {
    let collection = value(clause.collection, scope)
    var diagnostics = collection.diagnostics
    if collection.value.isNull {
      diagnostics.append(
        .error(
          "Iteration over null value", "A null value cannot be used as the collection in a 'for' expression.", clause.collection.range,
          context: range))
      return Evaluated(.dynamicUnknown, diagnostics)
    }
    if collection.value.type == .dynamic { return Evaluated(.dynamicUnknown, diagnostics) }
    switch collection.value.type {
    case .list, .set, .map, .tuple, .object: break
    default:
      diagnostics.append(
        .error(
          "Iteration over non-iterable value",
          "A value of type \(collection.value.type.friendlyName) cannot be used as the collection in a 'for' expression.",
          clause.collection.range, context: range))
      return Evaluated(.dynamicUnknown, diagnostics)
    }
    guard collection.value.isKnown, let elements = collection.value.elements else { return Evaluated(.dynamicUnknown, diagnostics) }
    func child(_ key: HCLValue, _ element: HCLValue) -> Scope {
      var inner = scope
      if let keyVariable = clause.keyVariable { inner.locals[keyVariable] = key }
      inner.locals[clause.valueVariable] = element
      return inner
    }
    if let condition = clause.condition {
      // Checked once with unknown variables, so that a wrong condition is found even when
      // the collection is empty.
      let probe = value(condition, child(.dynamicUnknown, .dynamicUnknown))
      diagnostics += probe.diagnostics
      if probe.value.isNull {
        diagnostics.append(.error("Condition is null", "The value of the 'if' clause must not be null.", condition.range, context: range))
        return Evaluated(.dynamicUnknown, diagnostics)
      }
      do {
        _ = try HCLConvert.convert(probe.value, to: .bool)
      } catch {
        diagnostics.append(
          .error(
            "Invalid 'for' condition", "The 'if' clause value is invalid: \(error.message).", condition.range, context: range))
        return Evaluated(.dynamicUnknown, diagnostics)
      }
      if probe.diagnostics.hasErrors { return Evaluated(.dynamicUnknown, diagnostics) }
    }
    if elements.count > limits.elements {
      diagnostics.append(tooLarge(range))
      return Evaluated(.dynamicUnknown, diagnostics)
    }
    var known = true
    var tupleValues: [HCLValue] = []
    var objectValues: [String: HCLValue] = [:]
    var groups: [String: [HCLValue]] = [:]
    for (key, element) in elements {
      if exhausted { return Evaluated(.dynamicUnknown, diagnostics) }
      let inner = child(key, element)
      if let condition = clause.condition {
        let include = value(condition, inner)
        diagnostics += include.diagnostics
        if include.value.isNull {
          if known {
            diagnostics.append(.error("Invalid 'for' condition", "The value of the 'if' clause must not be null.", condition.range, context: range))
          }
          known = false
          continue
        }
        let flag: HCLValue
        do {
          flag = try HCLConvert.convert(include.value, to: .bool)
        } catch {
          if known {
            diagnostics.append(
              .error(
                "Invalid 'for' condition", "The 'if' clause value is invalid: \(error.message).", condition.range, context: range))
          }
          known = false
          continue
        }
        guard case .bool(let included) = flag else {
          known = false
          continue
        }
        if !included { continue }
      }
      if let keyExpression = clause.key {
        let keyResult = value(keyExpression, inner)
        diagnostics += keyResult.diagnostics
        if keyResult.value.isNull {
          if known {
            diagnostics.append(
              .error(
                "Invalid object key", "Key expression in 'for' expression must not produce a null value.", keyExpression.range, context: range))
          }
          known = false
          continue
        }
        guard keyResult.value.isKnown else {
          known = false
          continue
        }
        let name: String
        do {
          guard case .string(let text) = try HCLConvert.convert(keyResult.value, to: .string) else {
            known = false
            continue
          }
          name = text
        } catch {
          if known {
            diagnostics.append(
              .error(
                "Invalid object key", "The key expression produced an invalid result: \(error.message).", keyExpression.range, context: range))
          }
          known = false
          continue
        }
        let item = value(clause.value, inner)
        diagnostics += item.diagnostics
        if clause.grouping {
          groups[name, default: []].append(item.value)
        } else if objectValues[name] != nil {
          diagnostics.append(
            .error(
              "Duplicate object key",
              "Two different items produced the key \"\(name)\" in this 'for' expression. If duplicates are expected, use the ellipsis (...) after the value expression to enable grouping by key.",
              keyExpression.range, context: range))
        } else {
          objectValues[name] = item.value
        }
      } else {
        let item = value(clause.value, inner)
        diagnostics += item.diagnostics
        tupleValues.append(item.value)
      }
    }
    guard known else { return Evaluated(.dynamicUnknown, diagnostics) }
    if clause.key != nil {
      if clause.grouping { objectValues = groups.mapValues { .tuple($0) } }
      produced += objectValues.count
      return Evaluated(.object(objectValues), diagnostics)
    }
    account(.tuple(tupleValues))
    return Evaluated(.tuple(tupleValues), diagnostics)
  }

  private func splat(source: Expression, each: Expression, itemID: Int, markerRange: HCLRange, _ scope: Scope) -> Evaluated {
    let sourceResult = value(source, scope)
    var diagnostics = sourceResult.diagnostics
    if diagnostics.hasErrors { return Evaluated(.dynamicUnknown, diagnostics) }
    var sourceValue = sourceResult.value
    let autoUpgrade = !(sourceValue.type.isTuple || sourceValue.type.isList || sourceValue.type.isSet)
    if sourceValue.isNull {
      if autoUpgrade { return Evaluated(.emptyTuple, diagnostics) }
      diagnostics.append(
        .error(
          "Splat of null value", "Splat expressions (with the * symbol) cannot be applied to null sequences.", source.range,
          context: .between(source.range, markerRange)))
      return Evaluated(.dynamicUnknown, diagnostics)
    }
    if sourceValue.type == .dynamic { return Evaluated(.dynamicUnknown, diagnostics) }
    var upgradedUnknown = false
    if autoUpgrade {
      upgradedUnknown = !sourceValue.isKnown
      sourceValue = .tuple([sourceValue])
    }
    guard sourceValue.isKnown, let elements = sourceValue.sequenceElements else { return Evaluated(.dynamicUnknown, diagnostics) }
    var values: [HCLValue] = []
    var known = true
    for element in elements {
      if exhausted { return Evaluated(.dynamicUnknown, diagnostics) }
      var inner = scope
      inner.anonymous[itemID] = element
      let item = value(each, inner)
      diagnostics += item.diagnostics
      if item.diagnostics.hasErrors { known = false }
      values.append(item.value)
    }
    if upgradedUnknown || !known { return Evaluated(.dynamicUnknown, diagnostics) }
    switch sourceValue.type {
    case .list(let elementType), .set(let elementType):
      if values.isEmpty {
        var inner = scope
        inner.anonymous[itemID] = .unknown(elementType)
        let probe = value(each, inner)
        return Evaluated(.list([], elementType: probe.value.type), diagnostics + probe.diagnostics)
      }
      let first = values[0].type
      guard values.allSatisfy({ $0.type == first }) else { return Evaluated(.tuple(values), diagnostics) }
      return Evaluated(.list(values, elementType: first), diagnostics)
    default:
      return Evaluated(.tuple(values), diagnostics)
    }
  }

  // MARK: - Function calls

  private func callFunction(_ call: Expression.FunctionCall, range: HCLRange, startRange: HCLRange, _ scope: Scope) -> Evaluated {
    guard let functions = context.functions else {
      return Evaluated(.dynamicUnknown, [.error("Function calls not allowed", "Functions may not be called here.", range)])
    }
    guard let function = functions[call.name] else {
      let suggestion = Suggestions.closest(call.name, among: Array(functions.keys)).map { " Did you mean \"\($0)\"?" } ?? ""
      return Evaluated(
        .dynamicUnknown,
        [
          .error(
            "Call to unknown function", "There is no function named \"\(call.name)\".\(suggestion)", call.nameRange, context: range)
        ])
    }
    switch function.body {
    case .firstSuccessful: return tryFunction(call, startRange: startRange, range: range, scope)
    case .succeeds: return canFunction(call, range: range, scope)
    case .typeConversion: return convertFunction(call, range: range, scope)
    case .values, .rendering: break
    }
    var diagnostics: [HCLDiagnostic] = []
    // Arguments, with a final `...` argument spread into its elements.
    var arguments: [(value: HCLValue?, expression: Expression)] = call.arguments.map { (nil, $0) }
    if call.expandFinal, let last = call.arguments.last {
      let expanded = value(last, scope)
      diagnostics += expanded.diagnostics
      if expanded.diagnostics.hasErrors { return Evaluated(.dynamicUnknown, diagnostics) }
      let spread = expanded.value
      if spread.type == .dynamic || spread.type.isTuple || spread.type.isList || spread.type.isSet {
        if spread.isNull {
          diagnostics.append(
            .error(
              "Invalid expanding argument value", "The expanding argument (indicated by ...) must not be null.", last.range, context: range))
          return Evaluated(.dynamicUnknown, diagnostics)
        }
        guard spread.isKnown, let elements = spread.sequenceElements else { return Evaluated(.dynamicUnknown, diagnostics) }
        arguments.removeLast()
        arguments += elements.map { ($0, last) }
      } else {
        diagnostics.append(
          .error(
            "Invalid expanding argument value", "The expanding argument (indicated by ...) must be of a tuple, list, or set type.", last.range,
            context: range))
        return Evaluated(.dynamicUnknown, diagnostics)
      }
    }
    let parameters = function.parameters
    if arguments.count < parameters.count {
      let missing = parameters[arguments.count]
      return Evaluated(
        .dynamicUnknown,
        diagnostics + [
          .error(
            "Not enough function arguments",
            "Function \"\(call.name)\" expects\(function.variadic == nil ? "" : " at least") \(parameters.count) argument(s). Missing value for \"\(missing.name)\".",
            call.closeParenRange, context: range)
        ])
    }
    if function.variadic == nil && arguments.count > parameters.count {
      return Evaluated(
        .dynamicUnknown,
        diagnostics + [
          .error(
            "Too many function arguments", "Function \"\(call.name)\" expects only \(parameters.count) argument(s).",
            arguments[parameters.count].expression.startRange, context: range)
        ])
    }
    var values: [HCLValue] = []
    for (index, argument) in arguments.enumerated() {
      guard let parameter = index < parameters.count ? parameters[index] : function.variadic else { break }
      var given: HCLValue
      if let known = argument.value {
        given = known
      } else {
        let result = value(argument.expression, scope)
        diagnostics += result.diagnostics
        given = result.value
      }
      do {
        given = try HCLConvert.convert(given, to: parameter.type)
      } catch {
        diagnostics.append(
          .error(
            "Invalid function argument", "Invalid value for \"\(parameter.name)\" parameter: \(error.message).",
            argument.expression.startRange, context: range))
      }
      values.append(given)
    }
    if diagnostics.hasErrors { return Evaluated(.dynamicUnknown, diagnostics) }
    func parameterAt(_ index: Int) -> HCLFunction.Parameter? { index < parameters.count ? parameters[index] : function.variadic }
    for (index, argument) in values.enumerated() {
      guard let parameter = parameterAt(index) else { continue }
      if argument.isNull && !parameter.allowNull {
        return Evaluated(
          .dynamicUnknown,
          diagnostics + [
            .error(
              "Invalid function argument", "Invalid value for \"\(parameter.name)\" parameter: argument must not be null.",
              arguments[index].expression.startRange, context: range)
          ])
      }
    }
    for (index, argument) in values.enumerated() where !(parameterAt(index)?.allowUnknown ?? false) && !argument.isWhollyKnown {
      return Evaluated(.unknown(function.returnType), diagnostics)
    }
    do {
      let result: HCLValue
      switch function.body {
      case .values(let implementation): result = try implementation(values, limits)
      case .rendering(let prepare): result = try render(try prepare(values))
      default: return Evaluated(.dynamicUnknown, diagnostics)
      }
      account(result)
      return Evaluated(result, diagnostics)
    } catch {
      switch error {
      case .argument(let index, let message):
        if let parameter = parameterAt(index), index < arguments.count {
          diagnostics.append(
            .error(
              "Invalid function argument", "Invalid value for \"\(parameter.name)\" parameter: \(message).",
              arguments[index].expression.startRange, context: range))
        } else {
          diagnostics.append(.error("Error in function call", "Call to function \"\(call.name)\" failed: \(message).", startRange, context: range))
        }
      case .general(let message):
        diagnostics.append(.error("Error in function call", "Call to function \"\(call.name)\" failed: \(message).", startRange, context: range))
      }
      return Evaluated(.dynamicUnknown, diagnostics)
    }
  }

  /// A `.rendering` function's expression, in a child evaluator bounded by what remains of
  /// this evaluation's steps and bytes, which are then counted here.
  private func render(_ rendering: HCLFunction.Rendering) throws(HCLFunctionError) -> HCLValue {
    var remaining = limits
    remaining.steps = max(0, limits.steps - steps)
    remaining.totalBytes = max(0, limits.totalBytes - produced)
    let child = Evaluator(context: rendering.context, limits: remaining)
    let result =
      switch rendering.expression {
      case .native(let expression): child.value(expression, Scope())
      case .json(let node): child.jsonValue(node, Scope())
      }
    steps += child.steps
    produced += child.produced
    if child.exhausted {
      exhausted = true
      overflowed = overflowed || child.overflowed
      throw .general(
        child.overflowed
          ? "rendering built more than the \(remaining.totalBytes) bytes this evaluation had left"
          : "rendering took more than the \(remaining.steps) steps this evaluation had left")
    }
    if let problem = result.diagnostics.first(where: { $0.severity == .error }) { throw .general(rendering.explain(problem)) }
    return result.value
  }

  private func tryFunction(_ call: Expression.FunctionCall, startRange: HCLRange, range: HCLRange, _ scope: Scope) -> Evaluated {
    guard !call.arguments.isEmpty else {
      return Evaluated(
        .dynamicUnknown,
        [
          .error(
            "Error in function call", "Call to function \"try\" failed: at least one argument is required.", startRange, context: range)
        ])
    }
    var failures: [String] = []
    for argument in call.arguments {
      let result = value(argument, scope)
      if result.diagnostics.hasErrors {
        failures += result.diagnostics.filter { $0.severity == .error }.map { "- \($0.summary)" }
        continue
      }
      if !result.value.isWhollyKnown { return Evaluated(.dynamicUnknown) }
      return Evaluated(result.value)
    }
    return Evaluated(
      .dynamicUnknown,
      [
        .error(
          "Error in function call", "Call to function \"try\" failed: no expression succeeded:\n\(failures.joined(separator: "\n")).",
          startRange, context: range)
      ])
  }

  /// ext/typeexpr's `convert`: two arguments, the second a type expression.
  private func convertFunction(_ call: Expression.FunctionCall, range: HCLRange, _ scope: Scope) -> Evaluated {
    guard call.arguments.count == 2, !call.expandFinal else {
      let subject = call.arguments.count > 2 ? call.arguments[2].startRange : call.closeParenRange
      let missing = call.arguments.isEmpty ? "value" : "type"
      return Evaluated(
        .dynamicUnknown,
        [
          call.arguments.count > 2
            ? .error("Too many function arguments", "Function \"\(call.name)\" expects only 2 argument(s).", subject, context: range)
            : .error(
              "Not enough function arguments", "Function \"\(call.name)\" expects 2 argument(s). Missing value for \"\(missing)\".", subject,
              context: range)
        ])
    }
    let (type, typeProblems) = HCLTypeExpression.type(of: .native(call.arguments[1]))
    let given = value(call.arguments[0], scope)
    let diagnostics = given.diagnostics + typeProblems
    guard let type, !diagnostics.hasErrors else { return Evaluated(.dynamicUnknown, diagnostics) }
    guard given.value.isKnown else { return Evaluated(.unknown(type), diagnostics) }
    do {
      return Evaluated(try HCLConvert.convert(given.value, to: type), diagnostics)
    } catch {
      return Evaluated(
        .dynamicUnknown,
        diagnostics + [
          .error(
            "Invalid function argument", "Invalid value for \"value\" parameter: \(error.message).", call.arguments[0].startRange,
            context: range)
        ])
    }
  }

  private func canFunction(_ call: Expression.FunctionCall, range: HCLRange, _ scope: Scope) -> Evaluated {
    guard call.arguments.count == 1 else {
      let detail =
        call.arguments.isEmpty
        ? "Function \"can\" expects 1 argument(s). Missing value for \"expression\"."
        : "Function \"can\" expects only 1 argument(s)."
      let subject = call.arguments.count > 1 ? call.arguments[1].startRange : call.closeParenRange
      return Evaluated(
        .dynamicUnknown,
        [
          .error(
            call.arguments.isEmpty ? "Not enough function arguments" : "Too many function arguments", detail, subject, context: range)
        ])
    }
    let result = value(call.arguments[0], scope)
    if result.diagnostics.hasErrors { return Evaluated(.bool(false)) }
    if !result.value.isWhollyKnown { return Evaluated(.unknown(.bool)) }
    return Evaluated(.bool(true))
  }

  // MARK: - JSON expressions

  func jsonValue(_ node: JSONNode, _ scope: Scope) -> Evaluated {
    guard step() else { return Evaluated(.dynamicUnknown) }
    switch node.kind {
    case .string(let text):
      return jsonTemplate(text, range: node.range, scope)
    case .number(let number):
      return Evaluated(.number(number))
    case .bool(let flag):
      return Evaluated(.bool(flag))
    case .null:
      return Evaluated(.dynamicNull)
    case .invalid:
      return Evaluated(.dynamicUnknown)
    case .array(let elements, _):
      var values: [HCLValue] = []
      var diagnostics: [HCLDiagnostic] = []
      for element in elements {
        let result = jsonValue(element, scope)
        values.append(result.value)
        diagnostics += result.diagnostics
      }
      return Evaluated(.tuple(values), diagnostics)
    case .object(let properties, _, _):
      var values: [String: HCLValue] = [:]
      var ranges: [String: HCLRange] = [:]
      var diagnostics: [HCLDiagnostic] = []
      var known = true
      for property in properties {
        let name = jsonTemplate(property.name, range: property.nameRange, scope)
        let item = jsonValue(property.value, scope)
        diagnostics += name.diagnostics + item.diagnostics
        let key: HCLValue
        do {
          key = try HCLConvert.convert(name.value, to: .string)
        } catch {
          diagnostics.append(
            .error(
              "Invalid object key expression", "Cannot use this expression as an object key: \(error.message).", property.nameRange))
          continue
        }
        if key.isNull {
          diagnostics.append(.error("Invalid object key expression", "Cannot use null value as an object key.", property.nameRange))
          continue
        }
        guard case .string(let text) = key else {
          known = false
          continue
        }
        if let earlier = ranges[text] {
          diagnostics.append(
            .error(
              "Duplicate object attribute", "An attribute named \"\(text)\" was already defined at \(earlier).", property.nameRange))
          continue
        }
        values[text] = item.value
        ranges[text] = property.nameRange
      }
      return Evaluated(known ? .object(values) : .dynamicUnknown, diagnostics)
    }
  }

  /// A JSON string in full expression mode: a standalone template, positioned just inside
  /// its opening quote.
  private func jsonTemplate(_ text: String, range: HCLRange, _ scope: Scope) -> Evaluated {
    guard text.utf8.contains(UInt8(ascii: "$")) || text.utf8.contains(UInt8(ascii: "%")) else { return Evaluated(.string(text)) }
    var start = range.start
    start.byte += 1
    start.column += 1
    let (expression, diagnostics) = Parser.parseTemplate(Array(text.utf8), filename: range.filename, start: start)
    if diagnostics.hasErrors { return Evaluated(.dynamicUnknown, diagnostics) }
    var result = value(expression, scope)
    result.diagnostics = diagnostics + result.diagnostics
    return result
  }
}
