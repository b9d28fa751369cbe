/// Why a value could not be converted, in cty's words ("string required", "a number is
/// required", "attribute \"a\" is required").
public struct ConversionError: Error, Sendable, Equatable, CustomStringConvertible {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// One value conversion, chosen once for a pair of types.
typealias Conversion = (HCLValue) throws(ConversionError) -> HCLValue

/// HCL's type conversions and unification (the information model's "Type Conversions and
/// Unification", as cty's `convert` package implements them).
///
/// *Safe* conversions never fail (number or bool to string, object to map, tuple to list, …);
/// *unsafe* ones may (string to number or bool, list to set, map to object). Expressions use
/// unsafe conversions, as HCL does.
public enum HCLConvert {
  /// `value` as `type`, or why not.
  public static func convert(_ value: HCLValue, to type: HCLType) throws(ConversionError) -> HCLValue {
    if value.type == type { return value }
    guard let conversion = conversion(from: value.type, to: type, lossy: true) else {
      throw ConversionError(mismatchMessage(got: value.type, want: type))
    }
    return try conversion(value)
  }

  /// True when some conversion from `from` to `to` exists.
  public static func canConvert(from: HCLType, to: HCLType, lossy: Bool = true) -> Bool {
    from == to || conversion(from: from, to: to, lossy: lossy) != nil
  }

  static func conversion(from input: HCLType, to output: HCLType, lossy: Bool) -> Conversion? {
    guard let known = knownConversion(from: input, to: output, lossy: lossy) else { return nil }
    return { (value: HCLValue) throws(ConversionError) -> HCLValue in
      if output == .dynamic { return value }
      switch value {
      case .unknown(let type): return .unknown(dynamicReplace(type, output))
      case .null(let type): return .null(dynamicReplace(type, output))
      default: return try known(value)
      }
    }
  }

  private static func knownConversion(from input: HCLType, to output: HCLType, lossy: Bool) -> Conversion? {
    if input == output { return { (value: HCLValue) throws(ConversionError) -> HCLValue in value } }
    switch (input, output) {
    case (_, .dynamic):
      return { (value: HCLValue) throws(ConversionError) -> HCLValue in value }
    case (.dynamic, _) where lossy:
      return { (value: HCLValue) throws(ConversionError) -> HCLValue in try convert(value, to: output) }
    case (.number, .string):
      return { (value: HCLValue) throws(ConversionError) -> HCLValue in
        guard case .number(let n) = value else { return value }
        return .string(n.description)
      }
    case (.bool, .string):
      return { (value: HCLValue) throws(ConversionError) -> HCLValue in
        guard case .bool(let b) = value else { return value }
        return .string(b ? "true" : "false")
      }
    case (.string, .number) where lossy:
      return { (value: HCLValue) throws(ConversionError) -> HCLValue in
        guard case .string(let s) = value else { return value }
        guard let n = HCLNumber(parsing: s) else { throw ConversionError("a number is required") }
        return .number(n)
      }
    case (.string, .bool) where lossy:
      return { (value: HCLValue) throws(ConversionError) -> HCLValue in
        guard case .string(let s) = value else { return value }
        switch s {
        case "true", "1": return .bool(true)
        case "false", "0": return .bool(false)
        default:
          switch s.lowercased() {
          case "true": throw ConversionError("a bool is required; to convert from string, use lowercase \"true\"")
          case "false": throw ConversionError("a bool is required; to convert from string, use lowercase \"false\"")
          default: throw ConversionError("a bool is required")
          }
        }
      }
    case (.object(let inAttributes), .object(let outAttributes)):
      return objectToObject(inAttributes, outAttributes, lossy: lossy)
    case (.tuple(let inElements), .tuple(let outElements)):
      guard inElements.count == outElements.count else { return nil }
      var conversions: [Conversion] = []
      for (a, b) in zip(inElements, outElements) {
        guard let c = conversion(from: a, to: b, lossy: lossy) else { return nil }
        conversions.append(c)
      }
      return { (value: HCLValue) throws(ConversionError) -> HCLValue in
        guard case .tuple(let elements) = value else { return value }
        var out: [HCLValue] = []
        for (element, c) in zip(elements, conversions) { out.append(try pathed(try c(element), "[\(out.count)]")) }
        return .tuple(out)
      }
    case (.list(let inElement), .list(let outElement)), (.set(let inElement), .list(let outElement)):
      guard let c = conversion(from: inElement, to: outElement, lossy: lossy) else { return nil }
      return { (value: HCLValue) throws(ConversionError) -> HCLValue in
        guard let elements = value.sequenceElements else { return value }
        var out: [HCLValue] = []
        for element in elements { out.append(try c(element)) }
        return try makeList(out, declared: outElement, fallback: inElement)
      }
    case (.list(let inElement), .set(let outElement)), (.set(let inElement), .set(let outElement)):
      if input.isList && !lossy { return nil }
      guard let c = conversion(from: inElement, to: outElement, lossy: lossy) else { return nil }
      return { (value: HCLValue) throws(ConversionError) -> HCLValue in
        guard let elements = value.sequenceElements else { return value }
        var out: [HCLValue] = []
        for element in elements { out.append(try c(element)) }
        if out.isEmpty { return .set([], elementType: outElement == .dynamic ? inElement : outElement) }
        guard sameTypes(out) else { throw ConversionError("element types must all match for conversion to set") }
        return .makeSet(out, elementType: outElement)
      }
    case (.map(let inElement), .map(let outElement)):
      guard let c = conversion(from: inElement, to: outElement, lossy: lossy) else { return nil }
      return { (value: HCLValue) throws(ConversionError) -> HCLValue in
        guard case .map(let elements, _) = value else { return value }
        var out: [String: HCLValue] = [:]
        for (key, element) in elements { out[key] = try c(element) }
        return try makeMap(out, declared: outElement, fallback: inElement, lossy: false)
      }
    case (.tuple(let elements), .list(let outElement)):
      return tupleToSequence(elements, outElement, lossy: lossy, set: false)
    case (.tuple(let elements), .set(let outElement)):
      return tupleToSequence(elements, outElement, lossy: lossy, set: true)
    case (.object(let attributes), .map(let outElement)):
      return objectToMap(attributes, outElement, lossy: lossy)
    case (.map(let inElement), .object(let outAttributes)):
      guard lossy else { return nil }
      var conversions: [String: Conversion] = [:]
      for (name, type) in outAttributes {
        guard let c = conversion(from: inElement, to: type, lossy: lossy) else { return nil }
        conversions[name] = c
      }
      return { (value: HCLValue) throws(ConversionError) -> HCLValue in
        guard case .map(let elements, _) = value else { return value }
        var out: [String: HCLValue] = [:]
        for (key, element) in elements {
          guard let c = conversions[key] else { continue }
          out[key] = try c(element)
        }
        for name in outAttributes.keys where out[name] == nil {
          throw ConversionError("map has no element for required attribute \"\(name)\"")
        }
        return .object(out)
      }
    default:
      return nil
    }
  }

  private static func pathed(_ value: HCLValue, _ step: String) throws(ConversionError) -> HCLValue { value }

  private static func sameTypes(_ values: [HCLValue]) -> Bool {
    guard let first = values.first?.type else { return true }
    return values.allSatisfy { $0.type == first }
  }

  private static func makeList(_ elements: [HCLValue], declared: HCLType, fallback: HCLType) throws(ConversionError) -> HCLValue {
    guard let first = elements.first else { return .list([], elementType: declared == .dynamic ? fallback : declared) }
    guard sameTypes(elements) else { throw ConversionError("element types must all match for conversion to list") }
    return .list(elements, elementType: first.type)
  }

  private static func makeMap(
    _ elements: [String: HCLValue], declared: HCLType, fallback: HCLType, lossy: Bool
  ) throws(ConversionError) -> HCLValue {
    guard !elements.isEmpty else { return .map([:], elementType: declared == .dynamic ? fallback : declared) }
    var elements = elements
    if declared.isCollection || declared.isObject {
      guard let unified = unify(elements.values.map(\.type), lossy: lossy) else {
        throw ConversionError("cannot find a common base type for all elements")
      }
      for (key, element) in elements where element.type != unified {
        guard let c = conversion(from: element.type, to: unified, lossy: lossy) else {
          throw ConversionError("cannot find a common base type for all elements")
        }
        elements[key] = try c(element)
      }
    }
    guard sameTypes(Array(elements.values)) else { throw ConversionError("element types must all match for conversion to map") }
    return .map(elements, elementType: elements.values.first?.type ?? declared)
  }

  private static func objectToObject(_ input: [String: HCLType], _ output: [String: HCLType], lossy: Bool) -> Conversion? {
    var conversions: [String: Conversion] = [:]
    for (name, outType) in output {
      guard let inType = input[name], let c = conversion(from: inType, to: outType, lossy: lossy) else { return nil }
      conversions[name] = c
    }
    return { (value: HCLValue) throws(ConversionError) -> HCLValue in
      guard case .object(let attributes) = value else { return value }
      var out: [String: HCLValue] = [:]
      for (name, attribute) in attributes {
        guard let c = conversions[name] else { continue }
        out[name] = try c(attribute)
      }
      return .object(out)
    }
  }

  private static func tupleToSequence(_ elements: [HCLType], _ outElement: HCLType, lossy: Bool, set: Bool) -> Conversion? {
    if elements.isEmpty {
      return { (_: HCLValue) throws(ConversionError) -> HCLValue in set ? .set([], elementType: outElement) : .list([], elementType: outElement) }
    }
    var target = outElement
    if target == .dynamic {
      guard let unified = unify(elements, lossy: lossy) else { return nil }
      if unified == .dynamic, !elements.allSatisfy({ $0 == .dynamic }) { return nil }
      target = unified
    }
    var conversions: [Conversion] = []
    for element in elements {
      guard let c = conversion(from: element, to: target, lossy: lossy) else { return nil }
      conversions.append(c)
    }
    return { (value: HCLValue) throws(ConversionError) -> HCLValue in
      guard case .tuple(let values) = value else { return value }
      var out: [HCLValue] = []
      for (element, c) in zip(values, conversions) { out.append(try c(element)) }
      if set {
        guard sameTypes(out) else { throw ConversionError("element types must all match for conversion to set") }
        return .makeSet(out, elementType: target)
      }
      out = try unifyElements(out, lossy: lossy)
      guard sameTypes(out) else { throw ConversionError("element types must all match for conversion to list") }
      return .list(out, elementType: out.first?.type ?? target)
    }
  }

  private static func unifyElements(_ values: [HCLValue], lossy: Bool) throws(ConversionError) -> [HCLValue] {
    guard let unified = unify(values.map(\.type), lossy: lossy) else {
      throw ConversionError("cannot find a common base type for all elements")
    }
    var out: [HCLValue] = []
    for value in values {
      if value.type == unified {
        out.append(value)
        continue
      }
      guard let c = conversion(from: value.type, to: unified, lossy: lossy) else {
        throw ConversionError("cannot find a common base type for all elements")
      }
      out.append(try c(value))
    }
    return out
  }

  private static func objectToMap(_ attributes: [String: HCLType], _ outElement: HCLType, lossy: Bool) -> Conversion? {
    if attributes.isEmpty { return { (_: HCLValue) throws(ConversionError) -> HCLValue in .map([:], elementType: outElement) } }
    var target = outElement
    if target == .dynamic {
      guard let unified = unify(Array(attributes.values), lossy: lossy) else { return nil }
      target = unified
    }
    var conversions: [String: Conversion] = [:]
    for (name, type) in attributes {
      guard let c = conversion(from: type, to: target, lossy: lossy) else { return nil }
      conversions[name] = c
    }
    return { (value: HCLValue) throws(ConversionError) -> HCLValue in
      guard case .object(let values) = value else { return value }
      var out: [String: HCLValue] = [:]
      for (name, element) in values {
        guard let c = conversions[name] else { continue }
        out[name] = try c(element)
      }
      if target.isCollection || target.isObject {
        let unifiedValues = try unifyElements(HCLValue.sortedKeys(out).compactMap { out[$0] }, lossy: lossy)
        for (name, element) in zip(HCLValue.sortedKeys(out), unifiedValues) { out[name] = element }
      }
      guard sameTypes(Array(out.values)) else { throw ConversionError("attribute types must all match for conversion to map") }
      return .map(out, elementType: out.values.first?.type ?? target)
    }
  }

  /// The type a null or unknown of `input` becomes when converted to `output`.
  static func dynamicReplace(_ input: HCLType, _ output: HCLType) -> HCLType {
    if input == .dynamic { return output }
    switch output {
    case .dynamic: return input
    case .string, .number, .bool: return output
    case .map(let element):
      switch input {
      case .map(let inElement): return .map(dynamicReplace(inElement, element))
      case .object(let attributes): return .map(dynamicReplace(unify(Array(attributes.values), lossy: true) ?? .dynamic, element))
      default: return .map(element)
      }
    case .object(let attributes):
      var out: [String: HCLType] = [:]
      switch input {
      case .map(let inElement):
        for (name, type) in attributes { out[name] = dynamicReplace(inElement, type) }
      case .object(let inAttributes):
        for (name, type) in attributes { out[name] = inAttributes[name].map { dynamicReplace($0, type) } ?? type }
      default: break
      }
      return .object(out)
    case .set(let element), .list(let element):
      var inner = element
      switch input {
      case .set(let inElement), .list(let inElement): inner = dynamicReplace(inElement, element)
      case .tuple(let elements): inner = dynamicReplace(unify(elements, lossy: true) ?? .dynamic, element)
      default: break
      }
      return output.isSet ? .set(inner) : .list(inner)
    case .tuple(let elements):
      guard case .tuple(let inElements) = input else { return output }
      return .tuple(
        elements.enumerated().map { index, type in
          index < inElements.count ? dynamicReplace(inElements[index], type) : type
        })
    }
  }

  // MARK: - Messages

  /// cty's `MismatchMessage`, for the common cases.
  public static func mismatchMessage(got: HCLType, want: HCLType) -> String {
    switch (got, want) {
    case (.object(let gotAttributes), .object(let wantAttributes)):
      let missing = wantAttributes.keys.filter { gotAttributes[$0] == nil }.sorted()
      if missing.count == 1 { return "attribute \"\(missing[0])\" is required" }
      if !missing.isEmpty { return "attributes " + missing.map { "\"\($0)\"" }.joined(separator: ", ") + " are required" }
      for name in wantAttributes.keys.sorted() {
        if let g = gotAttributes[name], let w = wantAttributes[name], !canConvert(from: g, to: w) {
          return "attribute \"\(name)\": " + mismatchMessage(got: g, want: w)
        }
      }
      return "object required"
    case (.tuple, .list(.dynamic)): return "all list elements must have the same type"
    case (.tuple, .set(.dynamic)): return "all set elements must have the same type"
    case (.object, .map(.dynamic)): return "all map elements must have the same type"
    default: return want.constraintName + " required"
    }
  }

  // MARK: - Unification

  /// The most general type all of `types` convert to, or nil (cty's `Unify`/`UnifyUnsafe`).
  public static func unify(_ types: [HCLType], lossy: Bool) -> HCLType? {
    guard !types.isEmpty else { return nil }
    var counts = (map: 0, list: 0, set: 0, object: 0, tuple: 0, dynamic: 0)
    for type in types {
      switch type {
      case .map: counts.map += 1
      case .list: counts.list += 1
      case .set: counts.set += 1
      case .object: counts.object += 1
      case .tuple: counts.tuple += 1
      case .dynamic: counts.dynamic += 1
      default: break
      }
    }
    let total = types.count
    if counts.map > 0 && counts.map + counts.dynamic == total {
      return unifyCollections(types, lossy: lossy, hasDynamic: counts.dynamic > 0, make: HCLType.map)
    }
    if counts.map > 0 && counts.map + counts.object + counts.dynamic == total {
      if let mapped = unifyObjectsAsMaps(types, lossy: lossy), mapped.isMap { return mapped }
    } else if counts.list > 0 && counts.list + counts.dynamic == total {
      return unifyCollections(types, lossy: lossy, hasDynamic: counts.dynamic > 0, make: HCLType.list)
    } else if counts.list > 0 && counts.list + counts.tuple + counts.dynamic == total {
      if let listed = unifyTuplesAsList(types, lossy: lossy), listed.isList { return listed }
    } else if counts.set > 0 && counts.set + counts.dynamic == total {
      return unifyCollections(types, lossy: lossy, hasDynamic: counts.dynamic > 0, make: HCLType.set)
    } else if counts.object > 0 && counts.object + counts.dynamic == total {
      return unifyObjects(types, lossy: lossy, hasDynamic: counts.dynamic > 0)
    } else if counts.tuple > 0 && counts.tuple + counts.dynamic == total {
      return unifyTuples(types, lossy: lossy, hasDynamic: counts.dynamic > 0)
    } else if counts.object > 0 && counts.tuple > 0 {
      return nil
    }
    // Try each type, most general first, as the one all others convert to.
    for index in preferenceOrder(types) {
      let want = types[index]
      if types.allSatisfy({ $0 == want || conversion(from: $0, to: want, lossy: lossy) != nil }) { return want }
    }
    return nil
  }

  private static func unifyCollections(_ types: [HCLType], lossy: Bool, hasDynamic: Bool, make: (HCLType) -> HCLType) -> HCLType? {
    if hasDynamic { return .dynamic }
    guard let element = unify(types.compactMap(\.elementType), lossy: lossy) else { return nil }
    let result = make(element)
    for type in types where type != result && conversion(from: type, to: result, lossy: lossy) == nil { return nil }
    return result
  }

  private static func unifyObjectsAsMaps(_ types: [HCLType], lossy: Bool) -> HCLType? {
    let objects = types.filter(\.isObject)
    guard let mapType = unifyObjectsToMap(objects, lossy: lossy), mapType.isMap else { return nil }
    let mapped = types.map { $0.isObject ? mapType : $0 }
    guard let result = unify(mapped, lossy: lossy), result.isMap else { return nil }
    return result
  }

  private static func unifyTuplesAsList(_ types: [HCLType], lossy: Bool) -> HCLType? {
    let tuples = types.filter(\.isTuple)
    guard let listType = unifyTuplesToList(tuples, lossy: lossy), listType.isList else { return nil }
    let listed = types.map { $0.isTuple ? listType : $0 }
    guard let result = unify(listed, lossy: lossy), result.isList else { return nil }
    return result
  }

  private static func unifyObjects(_ types: [HCLType], lossy: Bool, hasDynamic: Bool) -> HCLType? {
    if hasDynamic { return .dynamic }
    let all = types.compactMap { type -> [String: HCLType]? in if case .object(let a) = type { a } else { nil } }
    guard let first = all.first else { return nil }
    for attributes in all.dropFirst() where Set(attributes.keys) != Set(first.keys) {
      return unifyObjectsToMap(types, lossy: lossy)
    }
    var result: [String: HCLType] = [:]
    for name in first.keys {
      guard let unified = unify(all.compactMap { $0[name] }, lossy: lossy) else { return nil }
      result[name] = unified
    }
    let resultType = HCLType.object(result)
    for type in types where type != resultType && conversion(from: type, to: resultType, lossy: lossy) == nil {
      return unifyObjectsToMap(types, lossy: lossy)
    }
    return resultType
  }

  private static func unifyObjectsToMap(_ types: [HCLType], lossy: Bool) -> HCLType? {
    var attributeTypes: [HCLType] = []
    for case .object(let attributes) in types { attributeTypes += attributes.keys.sorted().compactMap { attributes[$0] } }
    guard let element = unify(attributeTypes, lossy: lossy) else { return nil }
    let result = HCLType.map(element)
    for type in types where type != result && conversion(from: type, to: result, lossy: lossy) == nil { return nil }
    return result
  }

  private static func unifyTuples(_ types: [HCLType], lossy: Bool, hasDynamic: Bool) -> HCLType? {
    if hasDynamic { return .dynamic }
    let all = types.compactMap { type -> [HCLType]? in if case .tuple(let e) = type { e } else { nil } }
    guard let first = all.first else { return nil }
    for elements in all.dropFirst() where elements.count != first.count {
      return unifyTuplesToList(types, lossy: lossy)
    }
    var result: [HCLType] = []
    for index in first.indices {
      guard let unified = unify(all.map { $0[index] }, lossy: lossy) else { return nil }
      result.append(unified)
    }
    let resultType = HCLType.tuple(result)
    for type in types where type != resultType && conversion(from: type, to: resultType, lossy: lossy) == nil {
      return unifyTuplesToList(types, lossy: lossy)
    }
    return resultType
  }

  private static func unifyTuplesToList(_ types: [HCLType], lossy: Bool) -> HCLType? {
    var elementTypes: [HCLType] = []
    for case .tuple(let elements) in types { elementTypes += elements }
    guard let element = unify(elementTypes, lossy: lossy) else { return nil }
    let result = HCLType.list(element)
    for type in types where type != result && conversion(from: type, to: result, lossy: lossy) == nil { return nil }
    return result
  }

  /// Indexes of `types`, most general first (cty's `sortTypes`, a topological sort).
  private static func preferenceOrder(_ types: [HCLType]) -> [Int] {
    let count = types.count
    var edges = [[Int]](repeating: [], count: count)
    for i in 0..<count {
      for j in (i + 1)..<max(count, i + 1) {
        let order = compareTypes(types[i], types[j])
        if order < 0 { edges[i].append(j) } else if order > 0 { edges[j].append(i) }
      }
    }
    var inDegree = [Int](repeating: 0, count: count)
    for outs in edges { for j in outs { inDegree[j] += 1 } }
    var queue = (0..<count).filter { inDegree[$0] == 0 }
    var result: [Int] = []
    while !queue.isEmpty {
      let i = queue.removeFirst()
      result.append(i)
      for j in edges[i] {
        inDegree[j] -= 1
        if inDegree[j] == 0 { queue.append(j) }
      }
    }
    return result
  }

  /// cty's `compareTypes`: negative when `a` is the more general (preferred) type.
  private static func compareTypes(_ a: HCLType, _ b: HCLType) -> Int {
    if a == .dynamic || b == .dynamic {
      if a != .dynamic { return -1 }
      if b != .dynamic { return 1 }
      return 0
    }
    if a.isPrimitive && b.isPrimitive && (a == .string || b == .string) {
      if a != .string { return 1 }
      if b != .string { return -1 }
      return 0
    }
    switch (a, b) {
    case (.list(let x), .list(let y)), (.set(let x), .set(let y)), (.map(let x), .map(let y)): return compareTypes(x, y)
    default: break
    }
    var (a, b) = (a, b)
    var swap = 1
    switch (a, b) {
    case (.tuple, .list), (.object, .map), (.set, .tuple), (.set, .list):
      (a, b) = (b, a)
      swap = -1
    default: break
    }
    if b.isSet && (a.isTuple || a.isList) { return -1 * swap }
    if a.isList && b.isTuple { return -1 * swap }
    if a.isMap && b.isObject { return -1 * swap }
    switch (a, b) {
    case (.object(let x), .object(let y)):
      guard x.count == y.count else { return 0 }
      var (aSuper, bSuper) = (false, false)
      for (name, type) in x {
        guard let other = y[name] else { return 0 }
        let order = compareTypes(type, other)
        if order < 0 { aSuper = true } else if order > 0 { bSuper = true }
      }
      return aSuper && bSuper ? 0 : aSuper ? -1 * swap : bSuper ? swap : 0
    case (.tuple(let x), .tuple(let y)):
      guard x.count == y.count else { return 0 }
      var (aSuper, bSuper) = (false, false)
      for (type, other) in zip(x, y) {
        let order = compareTypes(type, other)
        if order < 0 { aSuper = true } else if order > 0 { bSuper = true }
      }
      return aSuper && bSuper ? 0 : aSuper ? -1 * swap : bSuper ? swap : 0
    default: return 0
    }
  }
}
