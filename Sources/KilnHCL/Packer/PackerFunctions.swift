public import Foundation
import KilnCrypto

/// What Packer's impure functions see: where relative paths resolve (`path.root`), the run's
/// one clock, and the environment (for `env`).
public struct PackerFunctionContext: Sendable {
  /// path.root: where relative paths in file functions resolve.
  public var baseDirectory: String
  /// timestamp(), legacy_isotime(), legacy_strftime(): one clock per run.
  public var now: Date
  /// The run's environment: `env`, and `HOME` for `~` in paths.
  public var environment: [String: String]

  public init(baseDirectory: String, now: Date, environment: [String: String]) {
    self.baseDirectory = baseDirectory
    self.now = now
    self.environment = environment
  }
}

/// The functions a Packer template may call.
public enum PackerFunctions {
  /// Every function a Packer template may call: cty's standard ones plus Packer's own — the
  /// names Packer's `hcl2template/functions.go` registers (Packer 1.9.4's, and the ones added
  /// up to 1.16: `alltrue`, `base64gzip`, `filebase64`, `strcontains`, `sum`, …), no more:
  /// cty functions Packer does not register (`tostring`, `setsubtract`, `transpose`, …) are
  /// unknown functions here as there. `env` is not in it: Packer allows it only in variable
  /// defaults (`variableDefaultFunctions`).
  public static func table(_ context: PackerFunctionContext) -> [String: HCLFunction] {
    var table: [String: HCLFunction] = [:]
    for name in packerStandardNames {
      table[name] = HCLStandardFunction.table[name]
    }
    for function in PackerFunction.allCases where function != .env {
      table[function.rawValue] = function.function(context)
    }
    return table
  }

  /// What a `variable` block's `default` may call: only `env`, as in Packer.
  public static func variableDefaultFunctions(_ context: PackerFunctionContext) -> [String: HCLFunction] {
    ["env": PackerFunction.env.function(context)]
  }

  /// The cty standard functions Packer registers (the rest of its table is `PackerFunction`).
  static let packerStandardNames: [String] = [
    "abs", "alltrue", "anytrue", "base64decode", "base64encode", "can", "ceil", "chomp", "chunklist", "coalesce",
    "coalescelist", "compact", "concat", "contains", "csvdecode", "distinct", "element", "endswith", "flatten", "floor", "format",
    "formatlist", "indent", "index", "join", "jsondecode", "jsonencode", "keys", "length", "log", "lookup", "lower", "max",
    "merge", "min", "parseint", "pow", "range", "regex", "regexall", "regex_replace", "replace", "reverse", "setintersection",
    "setproduct", "setunion", "signum", "slice", "sort", "split", "startswith", "strcontains", "strrev", "substr", "sum", "title",
    "trim", "trimprefix", "trimspace", "trimsuffix", "try", "upper", "urlencode", "values", "zipmap",
  ]
}

/// Packer's own functions (beyond cty's standard library), one case each: parameters,
/// result type and body, as `HCLStandardFunction` does for cty's.
enum PackerFunction: String, CaseIterable, Sendable {
  // File system
  case abspath, basename, dirname, pathexpand, file, fileexists, fileset, filebase64, templatefile
  // Date and time
  case timestamp, formatdate, timeadd
  case legacyIsotime = "legacy_isotime"
  case legacyStrftime = "legacy_strftime"
  case rfc3339Parse = "rfc3339_parse"
  case unixTimestampParse = "unix_timestamp_parse"
  // Hashes and crypto
  case md5, sha1, sha256, sha512, bcrypt
  // UUIDs
  case uuidv4, uuidv5
  // IP networks
  case cidrhost, cidrnetmask, cidrsubnet, cidrsubnets
  // Types and encodings
  case convert, yamldecode, yamlencode, base64gzip, textencodebase64, textdecodebase64
  // Context
  case env
  case rsadecrypt
  // Secrets stores Kiln does not talk to
  case vault
  case consulKey = "consul_key"
  case awsSecretsManager = "aws_secretsmanager"
  case awsSecretsManagerRaw = "aws_secretsmanager_raw"

  private typealias P = HCLFunction.Parameter

  var parameters: (fixed: [HCLFunction.Parameter], variadic: HCLFunction.Parameter?) {
    switch self {
    case .abspath, .basename, .dirname, .pathexpand, .file, .fileexists, .filebase64: return ([P("path", .string)], nil)
    case .fileset: return ([P("path", .string), P("pattern", .string)], nil)
    case .templatefile: return ([P("path", .string), P("vars", .dynamic)], nil)
    case .timestamp: return ([], nil)
    case .formatdate: return ([P("format", .string), P("time", .string)], nil)
    case .timeadd: return ([P("timestamp", .string), P("duration", .string)], nil)
    case .legacyIsotime, .legacyStrftime: return ([], P("format", .string))
    case .rfc3339Parse: return ([P("timestamp", .string)], nil)
    case .unixTimestampParse: return ([P("unix_timestamp", .number)], nil)
    case .md5, .sha1, .sha256, .sha512, .yamldecode, .base64gzip: return ([P("str", .string)], nil)
    case .bcrypt: return ([P("str", .string)], P("cost", .number))
    case .uuidv4: return ([], nil)
    case .uuidv5: return ([P("namespace", .string), P("name", .string)], nil)
    case .cidrhost: return ([P("prefix", .string), P("hostnum", .number)], nil)
    case .cidrnetmask: return ([P("prefix", .string)], nil)
    case .cidrsubnet: return ([P("prefix", .string), P("newbits", .number), P("netnum", .number)], nil)
    case .cidrsubnets: return ([P("prefix", .string)], P("newbits", .number))
    case .convert: return ([P("value", .dynamic, allowNull: true), P("type", .dynamic)], nil)
    case .yamlencode: return ([P("value", .dynamic, allowNull: true)], nil)
    case .textencodebase64: return ([P("string", .string), P("encoding", .string)], nil)
    case .textdecodebase64: return ([P("source", .string), P("encoding", .string)], nil)
    case .env: return ([P("key", .string)], nil)
    case .vault: return ([P("path", .string), P("key", .string)], nil)
    case .consulKey: return ([P("key", .string)], nil)
    case .awsSecretsManager: return ([P("name", .string), P("key", .string, allowNull: true)], nil)
    case .awsSecretsManagerRaw: return ([P("name", .string)], nil)
    case .rsadecrypt: return ([P("ciphertext", .string), P("privatekey", .string)], nil)
    }
  }

  var returnType: HCLType {
    switch self {
    case .fileexists: .bool
    case .fileset: .set(.string)
    case .cidrsubnets: .list(.string)
    case .templatefile, .convert, .yamldecode, .rfc3339Parse, .unixTimestampParse: .dynamic
    default: .string
    }
  }

  func function(_ context: PackerFunctionContext) -> HCLFunction {
    let (fixed, variadic) = parameters
    if self == .convert {
      return HCLFunction(parameters: fixed, variadic: variadic, returnType: .dynamic, body: .typeConversion)
    }
    if self == .templatefile {
      return HCLFunction(
        parameters: fixed, variadic: variadic, returnType: .dynamic,
        body: .rendering { arguments throws(HCLFunctionError) in
          try TemplateFile.prepare(arguments[0].stringValue, arguments[1], context)
        })
    }
    let function = self
    return HCLFunction(
      parameters: fixed, variadic: variadic, returnType: returnType,
      body: .values { arguments, limits throws(HCLFunctionError) in
        try function.call(arguments, context, limits)
      })
  }

  func call(_ a: [HCLValue], _ context: PackerFunctionContext, _ limits: EvalLimits) throws(HCLFunctionError) -> HCLValue {
    switch self {
    case .abspath: return FileFunctions.abspath(a[0].stringValue)
    case .basename: return FileFunctions.basename(a[0].stringValue)
    case .dirname: return FileFunctions.dirname(a[0].stringValue)
    case .pathexpand: return try FileFunctions.pathexpand(a[0].stringValue, context)
    case .file: return try FileFunctions.file(a[0].stringValue, context)
    case .fileexists: return try FileFunctions.fileexists(a[0].stringValue, context)
    case .fileset: return try FileFunctions.fileset(a[0].stringValue, a[1].stringValue, context)
    case .filebase64: return try FileFunctions.filebase64(a[0].stringValue)
    case .templatefile, .convert: throw .general("\(rawValue) is evaluated by the evaluator (its HCLFunction body)")
    case .timestamp: return .string(DateFunctions.time(context.now).rfc3339)
    case .formatdate: return try DateFunctions.formatdate(a[0].stringValue, a[1].stringValue)
    case .timeadd: return try DateFunctions.timeadd(a[0].stringValue, a[1].stringValue)
    case .legacyIsotime, .legacyStrftime:
      guard a.count <= 1 else { throw .general("too many values, 1 needed: \(a.map(\.description))") }
      let time = DateFunctions.time(context.now)
      guard let format = a.first?.stringValue else { return .string(time.rfc3339) }
      return .string(self == .legacyIsotime ? time.format(layout: format) : DateFunctions.strftime(format, time))
    case .rfc3339Parse: return try DateFunctions.rfc3339Parse(a[0].stringValue)
    case .unixTimestampParse: return try DateFunctions.unixTimestampParse(a[0])
    case .md5: return try CryptoFunctions.hexDigest(.md5, a[0].stringValue)
    case .sha1: return try CryptoFunctions.hexDigest(.sha1, a[0].stringValue)
    case .sha256: return try CryptoFunctions.hexDigest(.sha256, a[0].stringValue)
    case .sha512: return try CryptoFunctions.hexDigest(.sha512, a[0].stringValue)
    case .bcrypt: return try CryptoFunctions.bcrypt(a)
    case .uuidv4: return try CryptoFunctions.uuidv4()
    case .uuidv5: return try CryptoFunctions.uuidv5(a[0].stringValue, a[1].stringValue)
    case .cidrhost: return try CIDRFunctions.cidrhost(a[0].stringValue, a[1])
    case .cidrnetmask: return try CIDRFunctions.cidrnetmask(a[0].stringValue)
    case .cidrsubnet: return try CIDRFunctions.cidrsubnet(a[0].stringValue, a[1], a[2])
    case .cidrsubnets: return try CIDRFunctions.cidrsubnets(a)
    case .yamldecode: return try YAMLFunctions.decode(a[0].stringValue, limits)
    case .yamlencode: return try YAMLFunctions.encode(a[0])
    case .base64gzip: return .string(EncodingFunctions.base64Encode(Gzip.compress(Array(a[0].stringValue.utf8))))
    case .textencodebase64: return try TextEncodings.encode(a[0].stringValue, a[1].stringValue)
    case .textdecodebase64: return try TextEncodings.decode(a[0].stringValue, a[1].stringValue)
    case .env: return .string(context.environment[a[0].stringValue] ?? "")
    case .rsadecrypt: return try CryptoFunctions.rsadecrypt(a[0].stringValue, a[1].stringValue)
    case .vault, .consulKey, .awsSecretsManager, .awsSecretsManagerRaw:
      throw .general(
        "\(rawValue) is not supported by Kiln: \(unsupportedReason); pass the value in a variable (-var, -var-file or PKR_VAR_) instead")
    }
  }

  private var unsupportedReason: String {
    switch self {
    case .vault: "Kiln does not read HashiCorp Vault"
    case .consulKey: "Kiln does not read Consul"
    default: "Kiln's AWS client does not call Secrets Manager"
    }
  }
}
