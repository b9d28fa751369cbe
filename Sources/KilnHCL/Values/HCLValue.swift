/// An HCL value: cty's value model.
///
/// Every value has a type (`type`). `null` and `unknown` carry the type they stand for;
/// `unknown` is a value not known yet (cty's unknown), which a later step can use for values
/// bound late (Packer's `build.*`): operations on it give unknown results instead of errors.
/// Lists, sets and maps carry their element type (so an empty `list(string)` knows it);
/// tuples and objects are typed by their elements. Sets are kept deduplicated, in cty's order.
public indirect enum HCLValue: Sendable, CustomStringConvertible {
  case null(HCLType)
  case unknown(HCLType)
  case string(String)
  case number(HCLNumber)
  case bool(Bool)
  case list([HCLValue], elementType: HCLType)
  case set([HCLValue], elementType: HCLType)
  case map([String: HCLValue], elementType: HCLType)
  case tuple([HCLValue])
  case object([String: HCLValue])

  public static let dynamicNull = HCLValue.null(.dynamic)
  public static let dynamicUnknown = HCLValue.unknown(.dynamic)
  public static let emptyTuple = HCLValue.tuple([])
  public static let emptyObject = HCLValue.object([:])

  public static func number(_ value: Int) -> HCLValue { .number(HCLNumber(value)) }

  /// A string, in Unicode normal form C as cty keeps every string.
  public static func normalized(_ text: String) -> HCLValue { .string(UnicodeNFC.normalize(text)) }

  public var type: HCLType {
    switch self {
    case .null(let type), .unknown(let type): type
    case .string: .string
    case .number: .number
    case .bool: .bool
    case .list(_, let element): .list(element)
    case .set(_, let element): .set(element)
    case .map(_, let element): .map(element)
    case .tuple(let elements): .tuple(elements.map(\.type))
    case .object(let attributes): .object(attributes.mapValues(\.type))
    }
  }

  public var isNull: Bool { if case .null = self { true } else { false } }
  public var isKnown: Bool { if case .unknown = self { false } else { true } }

  /// Known all the way down.
  public var isWhollyKnown: Bool {
    switch self {
    case .unknown: false
    case .null, .string, .number, .bool: true
    case .list(let elements, _), .set(let elements, _), .tuple(let elements): elements.allSatisfy(\.isWhollyKnown)
    case .map(let elements, _), .object(let elements): elements.values.allSatisfy(\.isWhollyKnown)
    }
  }

  /// A list, whose element type is that of its elements (the caller made them agree), or
  /// `elementType` when empty.
  public static func list(_ elements: [HCLValue], emptyType: HCLType) -> HCLValue {
    .list(elements, elementType: elements.first?.type ?? emptyType)
  }

  /// A set: duplicates dropped, elements in cty's order.
  public static func makeSet(_ elements: [HCLValue], elementType: HCLType) -> HCLValue {
    var unique: [HCLValue] = []
    for element in elements where !unique.contains(where: { $0.rawEquals(element) }) {
      unique.append(element)
    }
    unique.sort { HCLValue.setLess($0, $1) }
    return .set(unique, elementType: elements.first?.type ?? elementType)
  }

  /// cty's set order: nulls last, unknowns after knowns, strings and numbers and bools by
  /// value, anything else by its hash text.
  static func setLess(_ a: HCLValue, _ b: HCLValue) -> Bool {
    if a.rawEquals(b) { return false }
    if b.isNull && !a.isNull { return true }
    if a.isNull { return false }
    if a.isKnown && !b.isKnown { return true }
    if !a.isKnown { return false }
    switch (a, b) {
    case (.string(let x), .string(let y)): return Array(x.utf8).lexicographicallyPrecedes(Array(y.utf8))
    case (.bool(let x), .bool(let y)): return !x || y
    case (.number(let x), .number(let y)): return HCLNumber.compare(x, y) < 0
    default: return Array(a.hashText.utf8).lexicographicallyPrecedes(Array(b.hashText.utf8))
    }
  }

  /// An approximation of cty's set hash text (used only to order sets of structured values).
  var hashText: String {
    switch self {
    case .unknown: "?"
    case .null: "~"
    case .number(let n): n.description
    case .bool(let b): b ? "T" : "F"
    case .string(let s): JSONText.quote(s)
    case .map(let elements, _): "{" + elements.keys.sorted().map { JSONText.quote($0) + ":" + (elements[$0]?.hashText ?? "") + ";" }.joined() + "}"
    case .list(let elements, _), .set(let elements, _): "[" + elements.map { $0.hashText + ";" }.joined() + "]"
    case .object(let attributes): "<" + attributes.keys.sorted().map { (attributes[$0]?.hashText ?? "") + ";" }.joined() + ">"
    case .tuple(let elements): "<" + elements.map { $0.hashText + ";" }.joined() + ">"
    }
  }

  /// The number of elements of a collection or structure (attributes of an object).
  public var length: Int? {
    switch self {
    case .list(let e, _), .set(let e, _), .tuple(let e): e.count
    case .map(let e, _), .object(let e): e.count
    default: nil
    }
  }

  /// Key/value pairs in iteration order: indexes for sequences, sorted keys for maps and
  /// objects, the element twice for sets.
  public var elements: [(key: HCLValue, value: HCLValue)]? {
    switch self {
    case .list(let e, _), .tuple(let e): return e.enumerated().map { (.number($0.offset), $0.element) }
    case .set(let e, _): return e.map { ($0, $0) }
    case .map(let e, _), .object(let e): return HCLValue.sortedKeys(e).map { (.string($0), e[$0] ?? .dynamicNull) }
    default: return nil
    }
  }

  /// Keys sorted byte-wise (Go's string order), as cty visits them.
  static func sortedKeys(_ dictionary: [String: HCLValue]) -> [String] {
    dictionary.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
  }

  /// Values of a sequence (list, tuple, set) in order.
  public var sequenceElements: [HCLValue]? {
    switch self {
    case .list(let e, _), .set(let e, _), .tuple(let e): e
    default: nil
    }
  }

  /// Structural identity (cty's RawEquals): same type and same value, unknowns equal to
  /// unknowns of the same type.
  public func rawEquals(_ other: HCLValue) -> Bool {
    switch (self, other) {
    case (.null(let a), .null(let b)), (.unknown(let a), .unknown(let b)): return a == b
    case (.string(let a), .string(let b)): return a == b
    case (.number(let a), .number(let b)): return HCLNumber.equal(a, b)
    case (.bool(let a), .bool(let b)): return a == b
    case (.list(let a, let ta), .list(let b, let tb)), (.set(let a, let ta), .set(let b, let tb)):
      return ta == tb && a.count == b.count && zip(a, b).allSatisfy { $0.rawEquals($1) }
    case (.tuple(let a), .tuple(let b)): return a.count == b.count && zip(a, b).allSatisfy { $0.rawEquals($1) }
    case (.map(let a, let ta), .map(let b, let tb)):
      return ta == tb && a.count == b.count && a.allSatisfy { key, value in b[key].map { value.rawEquals($0) } ?? false }
    case (.object(let a), .object(let b)):
      return a.count == b.count && a.allSatisfy { key, value in b[key].map { value.rawEquals($0) } ?? false }
    default: return false
    }
  }

  /// cty's `Equals`: a bool, or unknown when unknowns decide it. Values of different types
  /// are never equal; nulls are equal to each other whatever their type.
  public func equals(_ other: HCLValue) -> HCLValue {
    switch (isKnown, other.isKnown) {
    case (false, false): return .unknown(.bool)
    case (true, false):
      if isNull || other.type.hasDynamicTypes { return .unknown(.bool) }
      return type == other.type ? .unknown(.bool) : .bool(false)
    case (false, true):
      if other.isNull || type.hasDynamicTypes { return .unknown(.bool) }
      return type == other.type ? .unknown(.bool) : .bool(false)
    case (true, true): break
    }
    if isNull && other.isNull { return .bool(true) }
    if isNull || other.isNull { return .bool(false) }
    if !isWhollyKnown || !other.isWhollyKnown { return type == other.type ? .unknown(.bool) : .bool(false) }
    guard type == other.type else { return .bool(false) }
    switch (self, other) {
    case (.string(let a), .string(let b)): return .bool(a == b)
    case (.number(let a), .number(let b)): return .bool(HCLNumber.equal(a, b))
    case (.bool(let a), .bool(let b)): return .bool(a == b)
    case (.list(let a, _), .list(let b, _)), (.tuple(let a), .tuple(let b)):
      guard a.count == b.count else { return .bool(false) }
      for (x, y) in zip(a, b) {
        let equal = x.equals(y)
        guard case .bool(let flag) = equal else { return .unknown(.bool) }
        if !flag { return .bool(false) }
      }
      return .bool(true)
    case (.set(let a, _), .set(let b, _)):
      let covered = a.allSatisfy { x in b.contains { y in x.rawEquals(y) } } && b.allSatisfy { y in a.contains { x in x.rawEquals(y) } }
      return .bool(covered)
    case (.map(let a, _), .map(let b, _)), (.object(let a), .object(let b)):
      guard a.count == b.count else { return .bool(false) }
      for (key, x) in a {
        guard let y = b[key] else { return .bool(false) }
        guard case .bool(let flag) = x.equals(y) else { return .unknown(.bool) }
        if !flag { return .bool(false) }
      }
      return .bool(true)
    default: return .bool(false)
    }
  }

  /// A short rendering for messages and debugging, in HCL's literal syntax.
  public var description: String {
    switch self {
    case .null: "null"
    case .unknown(let type): "(unknown \(type))"
    case .string(let s): JSONText.quote(s)
    case .number(let n): n.description
    case .bool(let b): b ? "true" : "false"
    case .list(let e, _), .tuple(let e): "[" + e.map(\.description).joined(separator: ", ") + "]"
    case .set(let e, _): "toset([" + e.map(\.description).joined(separator: ", ") + "])"
    case .map(let e, _), .object(let e):
      "{" + HCLValue.sortedKeys(e).map { "\(JSONText.quote($0)) = \(e[$0]?.description ?? "null")" }.joined(separator: ", ") + "}"
    }
  }
}
