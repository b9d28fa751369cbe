/// Collection functions, following cty's (and, for `length`, `index` and `coalesce`,
/// Terraform's, which Packer uses).
enum CollectionFunctions {
  static func requireWhole(_ value: HCLValue, _ argument: Int, _ what: String) throws(HCLFunctionError) -> Int {
    guard let number = value.numberValue.exactInt else { throw .argument(argument, "\(what): \(NumberFunctions.wholeNumber)") }
    return number
  }

  static func chunklist(_ list: HCLValue, _ sizeValue: HCLValue, _ limits: EvalLimits) throws(HCLFunctionError) -> HCLValue {
    guard let size = sizeValue.numberValue.exactInt else { throw .general("invalid size: \(NumberFunctions.wholeNumber)") }
    guard size >= 0 else { throw .general("the size argument must be positive") }
    let elements = list.sequenceElements ?? []
    if elements.isEmpty { return .list([], elementType: list.type) }
    if size == 0 { return .list([list], elementType: list.type) }
    var chunks: [HCLValue] = []
    var index = 0
    while index < elements.count {
      let chunk = Array(elements[index..<min(index + size, elements.count)])
      chunks.append(.list(chunk, elementType: list.type.elementType ?? .dynamic))
      index += size
    }
    return .list(chunks, elementType: list.type)
  }

  /// Terraform's `coalesce`: the first argument that is neither null nor "", after unifying
  /// the arguments' types.
  static func coalesce(_ arguments: [HCLValue]) throws(HCLFunctionError) -> HCLValue {
    guard !arguments.isEmpty else { throw .general("at least one argument is required") }
    guard let type = HCLConvert.unify(arguments.map(\.type), lossy: true) else {
      throw .general("all arguments must have the same type")
    }
    for argument in arguments {
      guard let converted = try? HCLConvert.convert(argument, to: type) else {
        throw .general("all arguments must have the same type")
      }
      if converted.isNull { continue }
      if case .string("") = converted { continue }
      return converted
    }
    throw .general("no non-null, non-empty-string arguments")
  }

  static func coalescelist(_ arguments: [HCLValue]) throws(HCLFunctionError) -> HCLValue {
    guard !arguments.isEmpty else { throw .general("at least one argument is required") }
    for argument in arguments where !(argument.type.isList || argument.type.isTuple) {
      throw .general("coalescelist arguments must be lists or tuples")
    }
    for argument in arguments where !argument.isNull {
      if let count = argument.length, count > 0 { return argument }
    }
    throw .general("no non-null arguments")
  }

  /// cty's `concat`: lists of one element type stay a list; otherwise a tuple.
  static func concat(_ sequences: [HCLValue], _ limits: EvalLimits) throws(HCLFunctionError) -> HCLValue {
    guard !sequences.isEmpty else { throw .general("at least one argument is required") }
    var elements: [HCLValue] = []
    var listType: HCLType?
    var allLists = true
    for (index, sequence) in sequences.enumerated() {
      switch sequence.type {
      case .list(let element):
        if let current = listType, current != element {
          guard let unified = HCLConvert.unify([current, element], lossy: false) else {
            throw .argument(index, "all arguments must be lists or tuples; got \(sequence.type.friendlyName)")
          }
          listType = unified
        } else if listType == nil {
          listType = element
        }
      case .tuple:
        allLists = false
      default:
        throw .argument(index, "all arguments must be lists or tuples; got \(sequence.type.friendlyName)")
      }
      if sequence.isNull { throw .argument(index, "argument must not be null") }
      elements += sequence.sequenceElements ?? []
      if elements.count > limits.elements { throw .general("the result would have too many elements") }
    }
    if allLists, let listType {
      var converted: [HCLValue] = []
      for element in elements {
        guard let value = try? HCLConvert.convert(element, to: listType) else { return .tuple(elements) }
        converted.append(value)
      }
      return .list(converted, elementType: listType)
    }
    return .tuple(elements)
  }

  static func contains(_ list: HCLValue, _ value: HCLValue) throws(HCLFunctionError) -> HCLValue {
    guard list.type.isList || list.type.isTuple || list.type.isSet else { throw .general("argument must be list, tuple, or set") }
    let elements = list.sequenceElements ?? []
    if elements.isEmpty { return .bool(false) }
    var unknown = false
    for element in elements {
      switch value.equals(element) {
      case .bool(true): return .bool(true)
      case .bool(false): continue
      default: unknown = true
      }
    }
    return unknown ? .unknown(.bool) : .bool(false)
  }

  static func distinct(_ list: HCLValue) -> HCLValue {
    var kept: [HCLValue] = []
    for element in list.sequenceElements ?? [] where !kept.contains(where: { $0.rawEquals(element) }) {
      kept.append(element)
    }
    return .list(kept, elementType: list.type.elementType ?? .dynamic)
  }

  static func element(_ list: HCLValue, _ indexValue: HCLValue) throws(HCLFunctionError) -> HCLValue {
    if indexValue.numberValue.isNegative { throw .general("cannot use element function with a negative index") }
    guard list.type.isList || list.type.isTuple else { throw .general("cannot read elements from \(list.type.friendlyName)") }
    guard let index = indexValue.numberValue.exactInt else { throw .general("invalid index: \(NumberFunctions.wholeNumber)") }
    let elements = list.sequenceElements ?? []
    guard !elements.isEmpty else { throw .general("cannot use element function with an empty list") }
    return elements[index % elements.count]
  }

  static func flatten(_ list: HCLValue, _ limits: EvalLimits) throws(HCLFunctionError) -> HCLValue {
    guard list.type.isList || list.type.isSet || list.type.isTuple else { throw .general("can only flatten lists, sets and tuples") }
    var out: [HCLValue] = []
    var known = true
    func walk(_ value: HCLValue, _ depth: Int) throws(HCLFunctionError) {
      guard depth < 100 else { throw .general("the list is nested too deeply") }
      for element in value.sequenceElements ?? [] {
        if !element.isNull, element.type.isList || element.type.isSet || element.type.isTuple {
          guard element.isKnown else {
            known = false
            continue
          }
          try walk(element, depth + 1)
        } else {
          if element.type == .dynamic && !element.isKnown { known = false }
          out.append(element)
          if out.count > limits.elements { throw .general("the result would have too many elements") }
        }
      }
    }
    try walk(list, 0)
    return known ? .tuple(out) : .dynamicUnknown
  }

  /// Terraform's `index`: the position of the first element equal to `value`.
  static func index(_ list: HCLValue, _ value: HCLValue) throws(HCLFunctionError) -> HCLValue {
    guard list.type.isList || list.type.isTuple else { throw .argument(0, "argument must be a list or tuple") }
    for (position, element) in (list.sequenceElements ?? []).enumerated() {
      switch element.equals(value) {
      case .bool(true): return .number(position)
      case .bool(false): continue
      default: return .unknown(.number)
      }
    }
    throw .general("item not found")
  }

  static func keys(_ map: HCLValue) throws(HCLFunctionError) -> HCLValue {
    switch map {
    case .object(let attributes):
      return .tuple(HCLValue.sortedKeys(attributes).map { .string($0) })
    case .map(let elements, _):
      return .list(HCLValue.sortedKeys(elements).map { .string($0) }, elementType: .string)
    default:
      throw .argument(0, "must have map or object type")
    }
  }

  /// Packer's `length`: grapheme clusters of a string, elements of anything else.
  static func length(_ value: HCLValue) throws(HCLFunctionError) -> HCLValue {
    // A collection of unknowns still has a known length; an unknown value does not.
    guard value.isKnown else { return .unknown(.number) }
    if case .string(let text) = value { return .number(text.count) }
    guard let count = value.length else {
      throw .general("argument must be a string, a collection type, or a structural type")
    }
    return .number(count)
  }

  static func lookup(_ arguments: [HCLValue]) throws(HCLFunctionError) -> HCLValue {
    let map = arguments[0]
    let key = arguments[1].stringValue
    let fallback = arguments.count > 2 ? arguments[2] : nil
    switch map {
    case .object(let attributes):
      if let found = attributes[key] { return found }
      guard let fallback else { throw .argument(0, "the given object has no attribute \(GoQuote.quote(key))") }
      return fallback
    case .map(let elements, let elementType):
      if let found = elements[key] { return found }
      guard let fallback else { throw .general("lookup failed to find key \(GoQuote.quote(key))") }
      guard let converted = try? HCLConvert.convert(fallback, to: elementType) else {
        throw .argument(2, "the default value must have the same type as the map elements")
      }
      return converted
    default:
      throw .argument(0, "lookup() requires a map as the first argument")
    }
  }

  static func matchkeys(_ values: HCLValue, _ keys: HCLValue, _ searchset: HCLValue) throws(HCLFunctionError) -> HCLValue {
    let valueElements = values.sequenceElements ?? []
    let keyElements = keys.sequenceElements ?? []
    guard valueElements.count == keyElements.count else { throw .general("length of keys and values should be equal") }
    let search = searchset.sequenceElements ?? []
    if let keyType = keyElements.first?.type, let searchType = search.first?.type, keyType != searchType {
      throw .argument(2, "keys and searchset must be of the same type")
    }
    var out: [HCLValue] = []
    for (value, key) in zip(valueElements, keyElements) where search.contains(where: { $0.rawEquals(key) }) {
      out.append(value)
    }
    return .list(out, elementType: values.type.elementType ?? .dynamic)
  }

  static func merge(_ arguments: [HCLValue]) throws(HCLFunctionError) -> HCLValue {
    guard !arguments.isEmpty else { return .emptyObject }
    var matching = true
    let first = arguments[0].type
    for argument in arguments {
      guard argument.type.isMap || argument.type.isObject || argument.type == .dynamic else {
        throw .general("arguments must be maps or objects, got \(GoQuote.quote(argument.type.friendlyName))")
      }
      if argument.type != first { matching = false }
    }
    var merged: [String: HCLValue] = [:]
    for argument in arguments where !argument.isNull {
      switch argument {
      case .map(let elements, _), .object(let elements): merged.merge(elements) { _, new in new }
      default: continue
      }
    }
    if matching, case .map(let elementType) = first { return .map(merged, elementType: elementType) }
    return .object(merged)
  }

  /// cty's `range(end)`, `range(start, end)`, `range(start, end, step)`: at most 1024 values.
  static func range(_ arguments: [HCLValue]) throws(HCLFunctionError) -> HCLValue {
    var start = HCLNumber(0)
    var end: HCLNumber
    var step = HCLNumber(1)
    switch arguments.count {
    case 1:
      end = arguments[0].numberValue
      // Without a step, a range counts down when it ends below its start.
      if end.isNegative { step = HCLNumber(-1) }
    case 2:
      (start, end) = (arguments[0].numberValue, arguments[1].numberValue)
      if HCLNumber.compare(start, end) > 0 { step = HCLNumber(-1) }
    case 3: (start, end, step) = (arguments[0].numberValue, arguments[1].numberValue, arguments[2].numberValue)
    default: throw .general("must have one, two, or three arguments")
    }
    if step.isZero { throw .argument(2, "step must not be zero") }
    let down = step.isNegative
    if down && HCLNumber.compare(start, end) < 0 { throw .argument(1, "end must be less than start when step is negative") }
    if !down && HCLNumber.compare(start, end) > 0 { throw .argument(1, "end must be greater than start when step is positive") }
    var values: [HCLValue] = []
    var current = start
    while down ? HCLNumber.compare(current, end) > 0 : HCLNumber.compare(current, end) < 0 {
      if values.count >= 1024 {
        throw .general("more than 1024 values were generated; either decrease the difference between start and end or use a smaller step")
      }
      values.append(.number(current))
      do {
        current = try current.adding(step)
      } catch {
        throw .general("the range does not end")
      }
    }
    return .list(values, elementType: .number)
  }

  static func reverse(_ list: HCLValue) throws(HCLFunctionError) -> HCLValue {
    switch list.type {
    case .tuple: return .tuple((list.sequenceElements ?? []).reversed())
    case .list(let element), .set(let element): return .list((list.sequenceElements ?? []).reversed(), elementType: element)
    default: throw .argument(0, "can only reverse list or tuple values, not \(list.type.friendlyName)")
    }
  }

  enum SetOperation {
    case union, intersection, subtraction
  }

  static func setOperation(_ sets: [HCLValue], _ operation: SetOperation) throws(HCLFunctionError) -> HCLValue {
    var elementTypes: [HCLType] = []
    for set in sets {
      let element = set.type.elementType ?? .dynamic
      if set.length == 0 && element == .dynamic { continue }
      elementTypes.append(element)
    }
    let elementType: HCLType
    if elementTypes.isEmpty {
      elementType = .dynamic
    } else {
      guard let unified = HCLConvert.unify(elementTypes, lossy: true) else {
        throw .general("given sets must all have compatible element types")
      }
      elementType = unified
    }
    var result: [HCLValue] = []
    for (index, set) in sets.enumerated() {
      guard let converted = try? HCLConvert.convert(set, to: .set(elementType)) else {
        throw .argument(index, "given sets must all have compatible element types")
      }
      let elements = converted.sequenceElements ?? []
      if index == 0 {
        result = elements
        continue
      }
      switch operation {
      case .union: result += elements.filter { element in !result.contains { $0.rawEquals(element) } }
      case .intersection: result = result.filter { element in elements.contains { $0.rawEquals(element) } }
      case .subtraction: result = result.filter { element in !elements.contains { $0.rawEquals(element) } }
      }
    }
    return .makeSet(result, elementType: elementType)
  }

  static func setproduct(_ sets: [HCLValue], _ limits: EvalLimits) throws(HCLFunctionError) -> HCLValue {
    guard sets.count >= 2 else { throw .general("at least two arguments are required") }
    var elementTypes: [HCLType] = []
    var listCount = 0
    for (index, set) in sets.enumerated() {
      switch set.type {
      case .set(let element): elementTypes.append(element)
      case .list(let element):
        elementTypes.append(element)
        listCount += 1
      case .tuple(let elements):
        listCount += 1
        if elements.isEmpty {
          elementTypes.append(.dynamic)
        } else {
          guard let unified = HCLConvert.unify(elements, lossy: true) else { throw .argument(index, "all elements must be of the same type") }
          elementTypes.append(unified)
        }
      default: throw .argument(index, "a set or a list is required")
      }
    }
    let tupleType = HCLType.tuple(elementTypes)
    var total = 1
    for set in sets {
      total *= set.length ?? 0
      if total > limits.elements { throw .general("the result would have too many elements") }
    }
    var products: [HCLValue] = []
    if total > 0 {
      var counters = [Int](repeating: 0, count: sets.count)
      let all = sets.map { $0.sequenceElements ?? [] }
      for _ in 0..<total {
        var tuple: [HCLValue] = []
        for (position, counter) in counters.enumerated() {
          let element = all[position][counter]
          tuple.append((try? HCLConvert.convert(element, to: elementTypes[position])) ?? element)
        }
        products.append(.tuple(tuple))
        var position = counters.count - 1
        while position >= 0 {
          counters[position] += 1
          if counters[position] < all[position].count { break }
          counters[position] = 0
          position -= 1
        }
      }
    }
    if listCount == sets.count { return .list(products, elementType: tupleType) }
    return .makeSet(products, elementType: tupleType)
  }

  static func slice(_ list: HCLValue, _ startValue: HCLValue, _ endValue: HCLValue) throws(HCLFunctionError) -> HCLValue {
    if list.type.isSet {
      throw .argument(
        0, "cannot slice a set, because its elements do not have indices; explicitly convert to a list if the ordering of the result is not important"
      )
    }
    guard list.type.isList || list.type.isTuple else { throw .argument(0, "must be a list or tuple value") }
    let elements = list.sequenceElements ?? []
    guard let start = startValue.numberValue.exactInt else { throw .argument(1, "invalid start index: \(NumberFunctions.wholeNumber)") }
    if start < 0 { throw .argument(1, "start index must not be less than zero") }
    if start > elements.count { throw .argument(1, "start index must not be greater than the length of the list") }
    guard let end = endValue.numberValue.exactInt else { throw .argument(2, "invalid end index: \(NumberFunctions.wholeNumber)") }
    if end < 0 { throw .argument(2, "end index must not be less than zero") }
    if end > elements.count { throw .argument(2, "end index must not be greater than the length of the list") }
    if start > end { throw .argument(1, "start index must not be greater than end index") }
    let part = Array(elements[start..<end])
    if case .list(let element) = list.type { return .list(part, elementType: element) }
    return .tuple(part)
  }

  /// cty's `sort`: strings in byte order (numbers given as strings too, as in cty).
  static func sort(_ list: HCLValue) throws(HCLFunctionError) -> HCLValue {
    var strings: [String] = []
    for (index, element) in (list.sequenceElements ?? []).enumerated() {
      guard case .string(let text) = element else {
        throw .general("given list element \(index) is null; a null string cannot be sorted")
      }
      strings.append(text)
    }
    strings.sort { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    return .list(strings.map { .string($0) }, elementType: .string)
  }

  static func transpose(_ map: HCLValue) throws(HCLFunctionError) -> HCLValue {
    guard case .map(let elements, _) = map else { return .map([:], elementType: .list(.string)) }
    var out: [String: [HCLValue]] = [:]
    for key in HCLValue.sortedKeys(elements) {
      for value in elements[key]?.sequenceElements ?? [] {
        guard case .string(let text) = value else { throw .general("input lists must not contain null values") }
        out[text, default: []].append(.string(key))
      }
    }
    return .map(out.mapValues { .list($0, elementType: .string) }, elementType: .list(.string))
  }

  static func values(_ map: HCLValue) throws(HCLFunctionError) -> HCLValue {
    switch map {
    case .object(let attributes):
      return .tuple(HCLValue.sortedKeys(attributes).compactMap { attributes[$0] })
    case .map(let elements, let elementType):
      return .list(HCLValue.sortedKeys(elements).compactMap { elements[$0] }, elementType: elementType)
    default:
      throw .general("values() requires a map as the first argument")
    }
  }

  static func zipmap(_ keys: HCLValue, _ values: HCLValue) throws(HCLFunctionError) -> HCLValue {
    let names = keys.sequenceElements ?? []
    guard let items = values.sequenceElements, values.type.isList || values.type.isTuple else {
      throw .argument(1, "values argument must be a list or tuple value")
    }
    guard names.count == items.count else {
      throw .general("number of keys (\(names.count)) does not match number of values (\(items.count))")
    }
    var out: [String: HCLValue] = [:]
    for (name, item) in zip(names, items) {
      guard case .string(let text) = name else { throw .argument(0, "keys list has null value at index \(out.count)") }
      out[text] = item
    }
    if case .list(let element) = values.type { return .map(out, elementType: element) }
    return .object(out)
  }
}
