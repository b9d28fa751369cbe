import Foundation

/// Packer's file-system functions (go-cty-funcs `filesystem`, Packer's `filebase64` and
/// `templatefile`). Relative paths resolve against `PackerFunctionContext.baseDirectory`
/// (`filebase64`: against the working directory, as Packer's does). Every read is bounded
/// (`maximumFileBytes`), `fileset` stops at `maximumFilesetMatches`, and a template file
/// cannot call `templatefile` again.
enum FileFunctions {
  static let maximumFileBytes = 16 << 20
  static let maximumFilesetMatches = 10_000
  static let maximumFilesetVisits = 100_000

  /// mitchellh/go-homedir's `Expand`: a leading `~` or `~/`, from the run's `HOME`.
  static func expandHome(_ path: String, _ context: PackerFunctionContext) throws(HCLFunctionError) -> String {
    guard path.hasPrefix("~") else { return path }
    let rest = path.dropFirst()
    guard rest.isEmpty || rest.hasPrefix("/") else { throw .general("cannot expand user-specific home dir") }
    guard let home = context.environment["HOME"], !home.isEmpty else { throw .general("cannot expand ~: HOME is not set") }
    return home + rest
  }

  /// Go's `filepath.Clean`.
  static func clean(_ path: String) -> String {
    if path.isEmpty { return "." }
    let rooted = path.hasPrefix("/")
    var parts: [Substring] = []
    for part in path.split(separator: "/", omittingEmptySubsequences: true) {
      if part == "." { continue }
      if part == ".." {
        if let last = parts.last, last != ".." {
          parts.removeLast()
        } else if !rooted {
          parts.append(part)
        }
        continue
      }
      parts.append(part)
    }
    let joined = parts.joined(separator: "/")
    if rooted { return "/" + joined }
    return joined.isEmpty ? "." : joined
  }

  static func join(_ base: String, _ path: String) -> String {
    if path.hasPrefix("/") { return clean(path) }
    return clean(base.isEmpty ? path : base + "/" + path)
  }

  static func resolve(_ path: String, _ context: PackerFunctionContext) throws(HCLFunctionError) -> String {
    join(context.baseDirectory, try expandHome(path, context))
  }

  static func abspath(_ path: String) -> HCLValue {
    if path.hasPrefix("/") { return .string(clean(path)) }
    return .string(join(FileManager.default.currentDirectoryPath, path))
  }

  /// Go's `filepath.Base`.
  static func basename(_ path: String) -> HCLValue {
    if path.isEmpty { return .string(".") }
    var trimmed = Substring(path)
    while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
    if trimmed == "/" { return .string("/") }
    if let slash = trimmed.lastIndex(of: "/") { return .string(String(trimmed[trimmed.index(after: slash)...])) }
    return .string(String(trimmed))
  }

  /// Go's `filepath.Dir`.
  static func dirname(_ path: String) -> HCLValue {
    guard let slash = path.lastIndex(of: "/") else { return .string(".") }
    let head = String(path[...slash])
    return .string(clean(head))
  }

  static func pathexpand(_ path: String, _ context: PackerFunctionContext) throws(HCLFunctionError) -> HCLValue {
    .string(try expandHome(path, context))
  }

  /// The bytes of a regular file, bounded.
  static func read(_ path: String, shown: String) throws(HCLFunctionError) -> [UInt8] {
    var info = stat()
    guard stat(path, &info) == 0 else {
      if errno == ENOENT {
        throw .general(
          "no file exists at \(shown); this function works only with files that are distributed as part of the configuration source code")
      }
      throw .general("failed to read \(shown): \(String(cString: strerror(errno)))")
    }
    guard (info.st_mode & S_IFMT) == S_IFREG else { throw .general("failed to read \(shown): it is not a regular file") }
    guard Int(info.st_size) <= maximumFileBytes else {
      throw .general("\(shown) is \(info.st_size) bytes; Kiln reads files of at most \(maximumFileBytes >> 20) MiB in templates")
    }
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw .general("failed to read \(shown): \(String(cString: strerror(errno)))")
    }
    defer { try? handle.close() }
    do {
      let data = try handle.read(upToCount: maximumFileBytes + 1) ?? Data()
      guard data.count <= maximumFileBytes else {
        throw HCLFunctionError.general("\(shown) is larger than \(maximumFileBytes >> 20) MiB; Kiln reads files of at most that size in templates")
      }
      return Array(data)
    } catch let error as HCLFunctionError {
      throw error
    } catch {
      throw .general("failed to read \(shown): \(error.localizedDescription)")
    }
  }

  static func text(_ bytes: [UInt8], _ shown: String) throws(HCLFunctionError) -> String {
    guard let text = String(validating: bytes, as: UTF8.self) else {
      throw .general(
        "contents of \(shown) are not valid UTF-8; use the filebase64 function to obtain the Base64 encoded contents or the other file functions (e.g. filemd5, filesha256) to obtain file hashing results instead"
      )
    }
    return text
  }

  static func file(_ path: String, _ context: PackerFunctionContext) throws(HCLFunctionError) -> HCLValue {
    let resolved = try resolve(path, context)
    return .normalized(try text(try read(resolved, shown: path), path))
  }

  static func filebase64(_ path: String) throws(HCLFunctionError) -> HCLValue {
    do {
      return .string(EncodingFunctions.base64Encode(try read(path, shown: path)))
    } catch {
      if case .general(let message) = error { throw .general("failed to read file \(GoQuote.quote(path)): \(message)") }
      throw error
    }
  }

  static func fileexists(_ path: String, _ context: PackerFunctionContext) throws(HCLFunctionError) -> HCLValue {
    let resolved = try resolve(path, context)
    var info = stat()
    guard stat(resolved, &info) == 0 else {
      if errno == ENOENT { return .bool(false) }
      throw .general("failed to stat \(resolved)")
    }
    guard (info.st_mode & S_IFMT) == S_IFREG else {
      throw .general("\(path) is not a regular file, but \(GoQuote.quote(modeName(info.st_mode)))")
    }
    return .bool(true)
  }

  private static func modeName(_ mode: mode_t) -> String {
    switch mode & S_IFMT {
    case S_IFDIR: "d---------"
    case S_IFLNK: "L---------"
    case S_IFIFO: "p---------"
    case S_IFSOCK: "S---------"
    case S_IFCHR: "Dc--------"
    case S_IFBLK: "D---------"
    default: "?---------"
    }
  }

  // MARK: - fileset

  /// `fileset(path, pattern)`: the regular files under `path` whose path relative to it
  /// matches `pattern` (`*`, `?`, `[...]`, `{a,b}`, and `**` for any number of
  /// directories), as a set of relative paths with `/`.
  static func fileset(_ path: String, _ pattern: String, _ context: PackerFunctionContext) throws(HCLFunctionError) -> HCLValue {
    let root = try resolve(path, context)
    let segments = clean(pattern).split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    var matches: [HCLValue] = []
    var visits = 0
    func walk(_ directory: String, _ relative: String, _ remaining: ArraySlice<String>) throws(HCLFunctionError) {
      visits += 1
      guard visits <= maximumFilesetVisits else {
        throw .general("fileset visited more than \(maximumFilesetVisits) directories and files under \(path); narrow the pattern")
      }
      guard let first = remaining.first else { return }
      let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory))?.sorted() ?? []
      if first == "**" {
        if remaining.count == 1 {
          // A final "**" matches every file below.
          try walk(directory, relative, ["*"])
        } else {
          try walk(directory, relative, remaining.dropFirst())
        }
        for entry in entries where isDirectory(directory + "/" + entry) {
          try walk(directory + "/" + entry, relative + entry + "/", remaining)
        }
        return
      }
      for entry in entries {
        visits += 1
        guard visits <= maximumFilesetVisits else {
          throw .general("fileset visited more than \(maximumFilesetVisits) directories and files under \(path); narrow the pattern")
        }
        guard try Glob.match(first, entry) else { continue }
        let full = directory + "/" + entry
        if remaining.count == 1 {
          var info = stat()
          if stat(full, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG {
            matches.append(.string(relative + entry))
            guard matches.count <= maximumFilesetMatches else {
              throw .general("fileset matched more than \(maximumFilesetMatches) files under \(path); narrow the pattern")
            }
          }
        } else if isDirectory(full) {
          try walk(full, relative + entry + "/", remaining.dropFirst())
        }
      }
    }
    do {
      _ = try Glob.match(pattern, "")
    } catch {
      if case .general("syntax error in pattern") = error {
        throw .general("failed to glob pattern (\(pattern)): syntax error in pattern")
      }
      throw error
    }
    try walk(root, "", segments[...])
    return HCLValue.makeSet(matches, elementType: .string)
  }

  private static func isDirectory(_ path: String) -> Bool {
    var info = stat()
    return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
  }
}

/// One path segment against one glob segment: `*`, `?`, `[abc]`, `[a-z]`, `[!x]`/`[^x]`,
/// `{a,b}` and `\` escapes (doublestar's syntax within a segment). Linear in practice: the
/// star backtracks to one saved point, as Go's `filepath.Match` does.
enum Glob {
  struct SyntaxError: Error {}

  static func match(_ pattern: String, _ name: String) throws(HCLFunctionError) -> Bool {
    for alternative in try expandBraces(pattern) where try matchSimple(Array(alternative.unicodeScalars), Array(name.unicodeScalars)) {
      return true
    }
    return false
  }

  /// `{a,b}c` → ["ac", "bc"], bounded.
  static func expandBraces(_ pattern: String) throws(HCLFunctionError) -> [String] {
    let scalars = Array(pattern.unicodeScalars)
    guard let open = scalars.firstIndex(of: "{") else { return [pattern] }
    var depth = 0
    var close: Int?
    var commas: [Int] = []
    for i in open..<scalars.count {
      if scalars[i] == "{" { depth += 1 }
      if scalars[i] == "}" {
        depth -= 1
        if depth == 0 {
          close = i
          break
        }
      }
      if scalars[i] == ",", depth == 1 { commas.append(i) }
    }
    guard let close else { throw .general("syntax error in pattern") }
    let head = String(String.UnicodeScalarView(scalars[..<open]))
    let tail = String(String.UnicodeScalarView(scalars[(close + 1)...]))
    var bounds = [open] + commas + [close]
    var out: [String] = []
    for k in 0..<(bounds.count - 1) {
      let piece = String(String.UnicodeScalarView(scalars[(bounds[k] + 1)..<bounds[k + 1]]))
      for expanded in try expandBraces(head + piece + tail) {
        out.append(expanded)
        guard out.count <= 1024 else { throw .general("the pattern's {…} alternatives expand to more than 1024 patterns") }
      }
    }
    bounds.removeAll()
    return out
  }

  private static func matchSimple(_ p: [Unicode.Scalar], _ s: [Unicode.Scalar]) throws(HCLFunctionError) -> Bool {
    var pi = 0
    var si = 0
    var starP = -1
    var starS = 0
    while si < s.count {
      if pi < p.count {
        switch p[pi] {
        case "*":
          starP = pi
          starS = si
          pi += 1
          continue
        case "?":
          pi += 1
          si += 1
          continue
        case "[":
          let (matched, next) = try matchClass(p, pi, s[si])
          if matched {
            pi = next
            si += 1
            continue
          }
        case "\\":
          guard pi + 1 < p.count else { throw .general("syntax error in pattern") }
          if p[pi + 1] == s[si] {
            pi += 2
            si += 1
            continue
          }
        default:
          if p[pi] == s[si] {
            pi += 1
            si += 1
            continue
          }
        }
      }
      guard starP >= 0 else { return false }
      pi = starP + 1
      starS += 1
      si = starS
    }
    while pi < p.count, p[pi] == "*" { pi += 1 }
    return pi == p.count
  }

  private static func matchClass(_ p: [Unicode.Scalar], _ start: Int, _ c: Unicode.Scalar) throws(HCLFunctionError) -> (Bool, Int) {
    var i = start + 1
    var negate = false
    if i < p.count, p[i] == "!" || p[i] == "^" {
      negate = true
      i += 1
    }
    var matched = false
    var first = true
    while i < p.count, p[i] != "]" || first {
      first = false
      var low = p[i]
      if low == "\\", i + 1 < p.count {
        i += 1
        low = p[i]
      }
      var high = low
      if i + 2 < p.count, p[i + 1] == "-", p[i + 2] != "]" {
        high = p[i + 2]
        i += 2
      }
      if low.value <= c.value && c.value <= high.value { matched = true }
      i += 1
    }
    guard i < p.count else { throw .general("syntax error in pattern") }
    return (matched != negate, i + 1)
  }
}
