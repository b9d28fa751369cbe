/// Every pure function Packer's HCL2 templates can call, by name: cty's standard library and
/// the few Packer takes from Terraform (`length` of a string, `index`, `coalesce`, …).
///
/// This enum is the one list: `parameters` gives each one's arity and parameter types (an
/// argument is converted to its parameter's type before the call), and `call` switches over
/// every case, so a function added here without an implementation does not compile. The
/// evaluator reaches them through `table` (name → `HCLFunction`), which a later step can
/// extend with Packer's impure ones (`timestamp`, `file`, `env`, …).
public enum HCLStandardFunction: String, CaseIterable, Sendable {
  // Strings
  case upper, lower, title, chomp, indent, join, split, replace, substr, strrev, trim, trimprefix, trimsuffix, trimspace
  case format, formatlist, startswith, endswith, strcontains
  case regex, regexall
  case regexReplace = "regex_replace"
  // Numbers
  case abs, ceil, floor, log, max, min, parseint, pow, signum, sum
  // Collections
  case alltrue, anytrue, chunklist, coalesce, coalescelist, compact, concat, contains, distinct, element, flatten, index, keys
  case length, lookup, matchkeys, merge, range, reverse, setintersection, setproduct, setsubtract, setunion, slice, sort
  case transpose, values, zipmap
  // Encoding
  case base64decode, base64encode, csvdecode, jsondecode, jsonencode, urldecode, urlencode
  // Type conversion
  case tobool, tolist, tomap, tonumber, toset, tostring
  // Errors as values
  case can, `try`

  public var name: String { rawValue }

  private typealias P = HCLFunction.Parameter

  /// Fixed parameters, and the parameter every further argument has (nil: no more).
  var parameters: (fixed: [HCLFunction.Parameter], variadic: HCLFunction.Parameter?) {
    switch self {
    case .upper, .lower, .title, .chomp, .strrev, .trimspace, .base64decode, .base64encode, .csvdecode, .jsondecode,
      .urldecode, .urlencode:
      return ([P("str", .string)], nil)
    case .indent: return ([P("spaces", .number), P("str", .string)], nil)
    case .join: return ([P("separator", .string)], P("lists", .list(.string)))
    case .split: return ([P("separator", .string), P("str", .string)], nil)
    case .replace: return ([P("str", .string), P("substr", .string), P("replace", .string)], nil)
    case .substr: return ([P("str", .string), P("offset", .number), P("length", .number)], nil)
    case .trim: return ([P("str", .string), P("cutset", .string)], nil)
    case .trimprefix: return ([P("str", .string), P("prefix", .string)], nil)
    case .trimsuffix: return ([P("str", .string), P("suffix", .string)], nil)
    case .format: return ([P("format", .string)], P("args", .dynamic, allowNull: true))
    case .formatlist: return ([P("format", .string)], P("args", .dynamic, allowNull: true))
    case .startswith: return ([P("str", .string), P("prefix", .string)], nil)
    case .endswith: return ([P("str", .string), P("suffix", .string)], nil)
    case .strcontains: return ([P("str", .string), P("substr", .string)], nil)
    case .regex, .regexall: return ([P("pattern", .string), P("string", .string)], nil)
    case .regexReplace: return ([P("str", .string), P("pattern", .string), P("replace", .string)], nil)
    case .abs, .ceil, .floor, .signum: return ([P("num", .number)], nil)
    case .log: return ([P("num", .number), P("base", .number)], nil)
    case .pow: return ([P("num", .number), P("power", .number)], nil)
    case .max, .min: return ([], P("numbers", .number))
    case .parseint: return ([P("number", .dynamic), P("base", .number)], nil)
    case .sum: return ([P("list", .dynamic)], nil)
    case .alltrue, .anytrue: return ([P("list", .list(.bool))], nil)
    case .chunklist: return ([P("list", .list(.dynamic)), P("size", .number)], nil)
    case .coalesce: return ([], P("vals", .dynamic, allowNull: true))
    case .coalescelist: return ([], P("vals", .dynamic, allowNull: true))
    case .compact: return ([P("list", .list(.string))], nil)
    case .concat: return ([], P("seqs", .dynamic))
    case .contains: return ([P("list", .dynamic), P("value", .dynamic)], nil)
    case .distinct: return ([P("list", .list(.dynamic))], nil)
    case .element: return ([P("list", .dynamic), P("index", .number)], nil)
    case .flatten: return ([P("list", .dynamic)], nil)
    case .index: return ([P("list", .dynamic), P("value", .dynamic)], nil)
    case .keys: return ([P("inputMap", .dynamic)], nil)
    case .length: return ([P("value", .dynamic, allowUnknown: true)], nil)
    case .lookup: return ([P("inputMap", .dynamic), P("key", .string), P("default", .dynamic, allowNull: true)], nil)
    case .matchkeys: return ([P("values", .list(.dynamic)), P("keys", .list(.dynamic)), P("searchset", .list(.dynamic))], nil)
    case .merge: return ([], P("maps", .dynamic, allowNull: true))
    case .range: return ([], P("params", .number))
    case .reverse: return ([P("list", .dynamic)], nil)
    case .setintersection, .setsubtract, .setunion: return ([P("first_set", .set(.dynamic))], P("other_sets", .set(.dynamic)))
    case .setproduct: return ([], P("sets", .dynamic))
    case .slice: return ([P("list", .dynamic), P("start_index", .number), P("end_index", .number)], nil)
    case .sort: return ([P("list", .list(.string))], nil)
    case .transpose: return ([P("values", .map(.list(.string)))], nil)
    case .values: return ([P("mapping", .dynamic)], nil)
    case .zipmap: return ([P("keys", .list(.string)), P("values", .dynamic)], nil)
    case .jsonencode: return ([P("val", .dynamic, allowNull: true)], nil)
    case .tobool, .tolist, .tomap, .tonumber, .toset, .tostring: return ([P("v", .dynamic, allowNull: true)], nil)
    case .can: return ([P("expression", .dynamic, allowNull: true, allowUnknown: true)], nil)
    case .try: return ([], P("expressions", .dynamic, allowNull: true, allowUnknown: true))
    }
  }

  /// The result type when it does not depend on the arguments' values.
  var returnType: HCLType {
    switch self {
    case .upper, .lower, .title, .chomp, .indent, .join, .replace, .substr, .strrev, .trim, .trimprefix, .trimsuffix, .trimspace,
      .format, .regexReplace, .base64decode, .base64encode, .jsonencode, .urldecode, .urlencode, .tostring:
      .string
    case .abs, .ceil, .floor, .log, .max, .min, .parseint, .pow, .signum, .sum, .length, .index, .tonumber: .number
    case .startswith, .endswith, .strcontains, .alltrue, .anytrue, .contains, .tobool, .can: .bool
    case .split, .formatlist, .compact, .sort: .list(.string)
    case .transpose: .map(.list(.string))
    default: .dynamic
    }
  }

  public var function: HCLFunction {
    let (fixed, variadic) = parameters
    switch self {
    case .try: return HCLFunction(parameters: fixed, variadic: variadic, returnType: .dynamic, body: .firstSuccessful)
    case .can: return HCLFunction(parameters: fixed, variadic: variadic, returnType: .bool, body: .succeeds)
    default:
      let function = self
      return HCLFunction(
        parameters: fixed, variadic: variadic, returnType: returnType,
        body: .values { arguments, limits throws(HCLFunctionError) in
          try function.call(arguments, limits: limits)
        })
    }
  }

  /// Name → function, for `EvalContext.functions`.
  public static let table: [String: HCLFunction] = Dictionary(uniqueKeysWithValues: allCases.map { ($0.rawValue, $0.function) })

  /// Runs the function on arguments already converted to the parameter types, known, and
  /// non-null where the parameter requires it.
  func call(_ a: [HCLValue], limits: EvalLimits) throws(HCLFunctionError) -> HCLValue {
    switch self {
    case .upper: return .normalized(StringFunctions.mapScalars(a[0].stringValue, upper: true))
    case .lower: return .normalized(StringFunctions.mapScalars(a[0].stringValue, upper: false))
    case .title: return .normalized(StringFunctions.title(a[0].stringValue))
    case .chomp: return .string(StringFunctions.chomp(a[0].stringValue))
    case .indent: return try StringFunctions.indent(a[0], a[1].stringValue, limits)
    case .join: return try StringFunctions.join(a[0].stringValue, Array(a.dropFirst()), limits)
    case .split: return StringFunctions.split(a[0].stringValue, a[1].stringValue)
    case .replace: return try StringFunctions.replace(a[0].stringValue, a[1].stringValue, a[2].stringValue, limits)
    case .substr: return try StringFunctions.substr(a[0].stringValue, a[1], a[2])
    case .strrev: return .normalized(String(a[0].stringValue.reversed()))
    case .trim: return .string(StringFunctions.trim(a[0].stringValue, cutset: a[1].stringValue))
    case .trimprefix:
      let (s, p) = (a[0].stringValue, a[1].stringValue)
      return .string(s.utf8.starts(with: p.utf8) ? String(decoding: Array(s.utf8.dropFirst(p.utf8.count)), as: UTF8.self) : s)
    case .trimsuffix:
      let (s, p) = (a[0].stringValue, a[1].stringValue)
      return .string(s.utf8.reversed().starts(with: p.utf8.reversed()) ? String(decoding: Array(s.utf8.dropLast(p.utf8.count)), as: UTF8.self) : s)
    case .trimspace: return .string(StringFunctions.trimSpace(a[0].stringValue))
    case .format: return try Formatter.format(a[0].stringValue, Array(a.dropFirst()), limits)
    case .formatlist: return try Formatter.formatList(a[0].stringValue, Array(a.dropFirst()), limits)
    case .startswith: return .bool(a[0].stringValue.utf8.starts(with: a[1].stringValue.utf8))
    case .endswith: return .bool(a[0].stringValue.utf8.reversed().starts(with: a[1].stringValue.utf8.reversed()))
    case .strcontains: return .bool(a[1].stringValue.isEmpty || a[0].stringValue.contains(a[1].stringValue))
    case .regex: return try RegexFunctions.regex(a[0].stringValue, a[1].stringValue, all: false, limits)
    case .regexall: return try RegexFunctions.regex(a[0].stringValue, a[1].stringValue, all: true, limits)
    case .regexReplace: return try RegexFunctions.replace(a[0].stringValue, a[1].stringValue, a[2].stringValue, limits)
    case .abs: return .number(a[0].numberValue.magnitude)
    case .ceil: return try NumberFunctions.round(a[0].numberValue, up: true)
    case .floor: return try NumberFunctions.round(a[0].numberValue, up: false)
    case .log: return try NumberFunctions.log(a[0].numberValue, a[1].numberValue)
    case .pow: return try NumberFunctions.pow(a[0].numberValue, a[1].numberValue)
    case .max: return try NumberFunctions.extreme(a, greatest: true)
    case .min: return try NumberFunctions.extreme(a, greatest: false)
    case .signum: return try NumberFunctions.signum(a[0])
    case .parseint: return try NumberFunctions.parseInt(a[0], a[1])
    case .sum: return try NumberFunctions.sum(a[0])
    case .alltrue: return .bool(a[0].sequenceElements?.allSatisfy { if case .bool(true) = $0 { true } else { false } } ?? true)
    case .anytrue: return .bool(a[0].sequenceElements?.contains { if case .bool(true) = $0 { true } else { false } } ?? false)
    case .chunklist: return try CollectionFunctions.chunklist(a[0], a[1], limits)
    case .coalesce: return try CollectionFunctions.coalesce(a)
    case .coalescelist: return try CollectionFunctions.coalescelist(a)
    case .compact: return .list((a[0].sequenceElements ?? []).filter { !$0.isNull && $0.stringValue != "" }, elementType: .string)
    case .concat: return try CollectionFunctions.concat(a, limits)
    case .contains: return try CollectionFunctions.contains(a[0], a[1])
    case .distinct: return CollectionFunctions.distinct(a[0])
    case .element: return try CollectionFunctions.element(a[0], a[1])
    case .flatten: return try CollectionFunctions.flatten(a[0], limits)
    case .index: return try CollectionFunctions.index(a[0], a[1])
    case .keys: return try CollectionFunctions.keys(a[0])
    case .length: return try CollectionFunctions.length(a[0])
    case .lookup: return try CollectionFunctions.lookup(a)
    case .matchkeys: return try CollectionFunctions.matchkeys(a[0], a[1], a[2])
    case .merge: return try CollectionFunctions.merge(a)
    case .range: return try CollectionFunctions.range(a)
    case .reverse: return try CollectionFunctions.reverse(a[0])
    case .setintersection: return try CollectionFunctions.setOperation(a, .intersection)
    case .setsubtract: return try CollectionFunctions.setOperation(a, .subtraction)
    case .setunion: return try CollectionFunctions.setOperation(a, .union)
    case .setproduct: return try CollectionFunctions.setproduct(a, limits)
    case .slice: return try CollectionFunctions.slice(a[0], a[1], a[2])
    case .sort: return try CollectionFunctions.sort(a[0])
    case .transpose: return try CollectionFunctions.transpose(a[0])
    case .values: return try CollectionFunctions.values(a[0])
    case .zipmap: return try CollectionFunctions.zipmap(a[0], a[1])
    case .base64decode: return try EncodingFunctions.base64Decode(a[0].stringValue)
    case .base64encode: return .string(EncodingFunctions.base64Encode(Array(a[0].stringValue.utf8)))
    case .csvdecode: return try EncodingFunctions.csvDecode(a[0].stringValue, limits)
    case .jsondecode: return try EncodingFunctions.jsonDecode(a[0].stringValue)
    case .jsonencode: return try EncodingFunctions.jsonEncode(a[0])
    case .urldecode: return try EncodingFunctions.urlDecode(a[0].stringValue)
    case .urlencode: return .string(EncodingFunctions.urlEncode(a[0].stringValue))
    case .tobool: return try Self.to(a[0], .bool)
    case .tolist: return try Self.to(a[0], .list(.dynamic))
    case .tomap: return try Self.to(a[0], .map(.dynamic))
    case .tonumber: return try Self.to(a[0], .number)
    case .toset: return try Self.to(a[0], .set(.dynamic))
    case .tostring: return try Self.to(a[0], .string)
    case .can, .try: throw .general("\(rawValue) takes expressions, not values")
    }
  }

  /// cty's `MakeToFunc`: the value converted, with the messages cty gives when it cannot be.
  private static func to(_ value: HCLValue, _ type: HCLType) throws(HCLFunctionError) -> HCLValue {
    // cty: an argument of type `dynamic` (a bare null) makes the result type dynamic too.
    if value.type == type || value.type == .dynamic { return value }
    guard HCLConvert.canConvert(from: value.type, to: type) else {
      switch (value.type, type) {
      case (.tuple, .tuple):
        throw .argument(0, "incompatible tuple type for conversion: \(HCLConvert.mismatchMessage(got: value.type, want: type))")
      case (.object, .object):
        throw .argument(0, "incompatible object type for conversion: \(HCLConvert.mismatchMessage(got: value.type, want: type))")
      default:
        throw .argument(0, "cannot convert \(value.type.friendlyName) to \(type.constraintName)")
      }
    }
    do {
      return try HCLConvert.convert(value, to: type)
    } catch {
      switch (value, type) {
      case (.string(let s), .bool):
        throw .argument(0, "cannot convert \(GoQuote.quote(s)) to bool; only the strings \"true\" or \"false\" are allowed")
      case (.string(let s), .number):
        throw .argument(0, "cannot convert \(GoQuote.quote(s)) to number; given string must be a decimal representation of a number")
      default:
        throw .argument(0, "cannot convert \(value.type.friendlyName) to \(type.constraintName)")
      }
    }
  }
}

extension HCLValue {
  /// The text of a string value ("" for anything else; functions get converted arguments).
  var stringValue: String {
    if case .string(let text) = self { return text }
    return ""
  }

  /// The number of a number value (zero for anything else).
  var numberValue: HCLNumber {
    if case .number(let number) = self { return number }
    return HCLNumber(0)
  }
}

/// Go's `strconv.Quote`: double quotes, `\"`, `\\`, control characters escaped.
public enum GoQuote {
  public static func quote(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case "\u{07}": out += "\\a"
      case "\u{08}": out += "\\b"
      case "\u{0C}": out += "\\f"
      case "\u{0B}": out += "\\v"
      default:
        if scalar.value < 0x20 || scalar.value == 0x7F {
          out += "\\x" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16)
        } else if !scalar.properties.isGraphemeBase && !scalar.properties.isGraphemeExtend && scalar.value > 0x7F
          && (scalar.properties.generalCategory == .format || scalar.properties.generalCategory == .unassigned
            || scalar.properties.generalCategory == .privateUse || scalar.properties.generalCategory == .lineSeparator
            || scalar.properties.generalCategory == .paragraphSeparator)
        {
          let hex = String(scalar.value, radix: 16)
          out +=
            scalar.value > 0xFFFF
            ? "\\U" + String(repeating: "0", count: 8 - hex.count) + hex : "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        } else {
          out.unicodeScalars.append(scalar)
        }
      }
    }
    return out + "\""
  }
}
