/// An HCL type, as cty models them: three primitives, three collections (one element type),
/// two structural types (per-element types), and `dynamic`, cty's DynamicPseudoType ("any"),
/// the type of a value not known yet and the static type of `null`.
public indirect enum HCLType: Hashable, Sendable, CustomStringConvertible {
  case string, number, bool
  case dynamic
  case list(HCLType)
  case set(HCLType)
  case map(HCLType)
  case tuple([HCLType])
  case object([String: HCLType])

  public static let emptyTuple = HCLType.tuple([])
  public static let emptyObject = HCLType.object([:])

  public var isPrimitive: Bool {
    switch self {
    case .string, .number, .bool: true
    default: false
    }
  }

  public var isCollection: Bool {
    switch self {
    case .list, .set, .map: true
    default: false
    }
  }

  public var isList: Bool { if case .list = self { true } else { false } }
  public var isSet: Bool { if case .set = self { true } else { false } }
  public var isMap: Bool { if case .map = self { true } else { false } }
  public var isTuple: Bool { if case .tuple = self { true } else { false } }
  public var isObject: Bool { if case .object = self { true } else { false } }

  /// The element type of a list, set or map.
  public var elementType: HCLType? {
    switch self {
    case .list(let element), .set(let element), .map(let element): element
    default: nil
    }
  }

  /// True when `dynamic` appears anywhere in the type.
  public var hasDynamicTypes: Bool {
    switch self {
    case .dynamic: true
    case .string, .number, .bool: false
    case .list(let e), .set(let e), .map(let e): e.hasDynamicTypes
    case .tuple(let elements): elements.contains { $0.hasDynamicTypes }
    case .object(let attributes): attributes.values.contains { $0.hasDynamicTypes }
    }
  }

  /// The type as HCL's type expressions write it: `list(string)`, `object({a=number})`, `any`.
  public var description: String {
    switch self {
    case .string: "string"
    case .number: "number"
    case .bool: "bool"
    case .dynamic: "any"
    case .list(let e): "list(\(e))"
    case .set(let e): "set(\(e))"
    case .map(let e): "map(\(e))"
    case .tuple(let elements): "tuple([\(elements.map(\.description).joined(separator: ","))])"
    case .object(let attributes):
      "object({\(attributes.keys.sorted().map { "\($0)=\(attributes[$0] ?? .dynamic)" }.joined(separator: ","))})"
    }
  }

  /// cty's `FriendlyName`, used in messages: "list of string", "object", "tuple", "dynamic".
  public var friendlyName: String {
    switch self {
    case .string, .number, .bool: description
    case .dynamic: "dynamic"
    case .list(let e): "list of \(e.friendlyName)"
    case .set(let e): "set of \(e.friendlyName)"
    case .map(let e): "map of \(e.friendlyName)"
    case .tuple: "tuple"
    case .object: "object"
    }
  }

  /// cty's `FriendlyNameForConstraint`: as `friendlyName`, but `any` for dynamic parts.
  public var constraintName: String {
    switch self {
    case .dynamic: "any type"
    case .list(let e): "list of \(e.constraintElementName)"
    case .set(let e): "set of \(e.constraintElementName)"
    case .map(let e): "map of \(e.constraintElementName)"
    default: friendlyName
    }
  }

  private var constraintElementName: String {
    self == .dynamic ? "any single type" : constraintName
  }
}
