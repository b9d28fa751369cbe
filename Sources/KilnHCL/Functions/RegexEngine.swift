/// A regular-expression engine for RE2's syntax (Go's `regexp`, which cty uses), matching
/// in time linear in the input (a Pike VM: every thread advances in lock step, so no pattern
/// backtracks exponentially) with Go's leftmost-first semantics and submatches.
///
/// Supported: literals and escapes, `.`, classes (`[a-z]`, `[^…]`, `[[:alpha:]]`, `\d \w \s`
/// and their negations), anchors `^ $ \A \z \b \B`, groups (capturing, `(?:…)`,
/// `(?P<name>…)`, `(?<name>…)`), flags `i m s U` (`(?i)`, `(?i:…)`), alternation, and the
/// quantifiers `* + ? {n} {n,} {n,m}` with lazy forms. Not supported (an error, never a wrong
/// match): Unicode classes `\p{…}`.
struct RegexEngine: Sendable {
  struct SyntaxError: Error, Sendable {
    var message: String
  }

  /// Compiled program size bound (RE2 bounds its programs too).
  static let maximumInstructions = 20_000

  private indirect enum Node {
    case empty
    case literal(Unicode.Scalar, caseless: Bool)
    case set(ScalarSet)
    case any(dotNewline: Bool)
    case concat([Node])
    case alternate([Node])
    case group(Node, index: Int?)
    case repeated(Node, min: Int, max: Int?, greedy: Bool)
    case assertion(Assertion)
  }

  enum Assertion: Sendable {
    case lineStart, lineEnd, textStart, textEnd, wordBoundary, notWordBoundary
  }

  struct ScalarSet: Sendable {
    var ranges: [ClosedRange<UInt32>]
    var negated: Bool
    var caseless: Bool

    func contains(_ scalar: Unicode.Scalar) -> Bool {
      var found = ranges.contains { $0.contains(scalar.value) }
      if !found && caseless {
        for variant in RegexEngine.caseVariants(scalar) where ranges.contains(where: { $0.contains(variant.value) }) {
          found = true
          break
        }
      }
      return found != negated
    }
  }

  private enum Instruction: Sendable {
    case scalar(Unicode.Scalar, caseless: Bool)
    case set(ScalarSet)
    case any(dotNewline: Bool)
    case split(Int, Int)
    case jump(Int)
    case save(Int)
    case assert(Assertion)
    case match
  }

  private let program: [Instruction]
  /// Capture groups, not counting the whole match.
  let groupCount: Int
  /// Names of the groups, 1-based (nil where unnamed).
  let groupNames: [String?]

  init(_ pattern: String) throws(SyntaxError) {
    var parser = PatternParser(Array(pattern.unicodeScalars))
    let node = try parser.parse()
    groupCount = parser.groupCount
    groupNames = parser.groupNames
    var compiler = Compiler()
    try compiler.emit(.save(0))
    try compiler.compile(node)
    try compiler.emit(.save(1))
    try compiler.emit(.match)
    program = compiler.program
  }

  static func caseVariants(_ scalar: Unicode.Scalar) -> [Unicode.Scalar] {
    var variants: [Unicode.Scalar] = []
    for mapped in [scalar.properties.lowercaseMapping, scalar.properties.uppercaseMapping, scalar.properties.titlecaseMapping] {
      let scalars = Array(mapped.unicodeScalars)
      if scalars.count == 1, scalars[0] != scalar, !variants.contains(scalars[0]) { variants.append(scalars[0]) }
    }
    return variants
  }

  // MARK: - Parsing

  private struct Flags {
    var caseless = false
    var multiline = false
    var dotNewline = false
    var ungreedy = false
  }

  private struct PatternParser {
    let scalars: [Unicode.Scalar]
    var index = 0
    var groupCount = 0
    var groupNames: [String?] = []
    var depth = 0

    init(_ scalars: [Unicode.Scalar]) { self.scalars = scalars }

    var atEnd: Bool { index >= scalars.count }
    func peek() -> Unicode.Scalar? { atEnd ? nil : scalars[index] }

    mutating func parse() throws(SyntaxError) -> Node {
      var flags = Flags()
      let node = try parseAlternation(&flags)
      if !atEnd { throw SyntaxError(message: "unexpected ): `\(String(String.UnicodeScalarView(scalars)))`") }
      return node
    }

    mutating func parseAlternation(_ flags: inout Flags) throws(SyntaxError) -> Node {
      depth += 1
      defer { depth -= 1 }
      guard depth < 200 else { throw SyntaxError(message: "expression nests too deeply") }
      var branches = [try parseConcatenation(&flags)]
      while peek() == "|" {
        index += 1
        branches.append(try parseConcatenation(&flags))
      }
      return branches.count == 1 ? branches[0] : .alternate(branches)
    }

    mutating func parseConcatenation(_ flags: inout Flags) throws(SyntaxError) -> Node {
      var items: [Node] = []
      while let next = peek(), next != "|", next != ")" {
        var atom = try parseAtom(&flags)
        guard let current = atom else { continue }
        atom = try parseQuantifiers(current, flags)
        if let atom { items.append(atom) }
      }
      return items.count == 1 ? items[0] : .concat(items)
    }

    mutating func parseQuantifiers(_ atom: Node, _ flags: Flags) throws(SyntaxError) -> Node {
      var node = atom
      var quantified = false
      while let next = peek() {
        var minimum = 0
        var maximum: Int?
        let start = index
        switch next {
        case "*": index += 1
        case "+":
          index += 1
          minimum = 1
        case "?":
          index += 1
          maximum = 1
        case "{":
          guard let (lo, hi) = parseCounts() else { return node }
          (minimum, maximum) = (lo, hi)
        default:
          return node
        }
        if quantified {
          throw SyntaxError(message: "invalid nested repetition operator: `\(String(String.UnicodeScalarView(scalars[start..<index])))`")
        }
        if case .assertion = node {
        } else if case .empty = node {
          throw SyntaxError(message: "missing argument to repetition operator: `\(next)`")
        }
        var greedy = !flags.ungreedy
        if peek() == "?" {
          index += 1
          greedy.toggle()
        }
        node = .repeated(node, min: minimum, max: maximum, greedy: greedy)
        quantified = true
      }
      return node
    }

    /// `{n}`, `{n,}`, `{n,m}`; nil (and nothing consumed) when not a valid count, which Go
    /// then reads as a literal `{`.
    mutating func parseCounts() -> (Int, Int?)? {
      var cursor = index + 1
      func number() -> Int? {
        var value = 0
        var digits = 0
        while cursor < scalars.count, let digit = Int(String(scalars[cursor])), scalars[cursor].isASCII {
          value = value * 10 + digit
          digits += 1
          cursor += 1
          if value > 1000 { return 1001 }
        }
        return digits > 0 ? value : nil
      }
      guard let low = number() else { return nil }
      var high: Int? = low
      if cursor < scalars.count, scalars[cursor] == "," {
        cursor += 1
        high = number()
      }
      guard cursor < scalars.count, scalars[cursor] == "}" else { return nil }
      index = cursor + 1
      return (low, high)
    }

    mutating func parseAtom(_ flags: inout Flags) throws(SyntaxError) -> Node? {
      guard let scalar = peek() else { return .empty }
      index += 1
      switch scalar {
      case "(":
        return try parseGroup(&flags)
      case "[":
        return .set(try parseClass(flags))
      case ".":
        return .any(dotNewline: flags.dotNewline)
      case "^":
        return .assertion(flags.multiline ? .lineStart : .textStart)
      case "$":
        return .assertion(flags.multiline ? .lineEnd : .textEnd)
      case "\\":
        return try parseEscape(flags, inClass: false)
      case "*", "+", "?":
        throw SyntaxError(message: "missing argument to repetition operator: `\(scalar)`")
      default:
        return .literal(scalar, caseless: flags.caseless)
      }
    }

    mutating func parseGroup(_ flags: inout Flags) throws(SyntaxError) -> Node? {
      var capture = true
      var name: String?
      var inner = flags
      if peek() == "?" {
        index += 1
        if peek() == "P" || peek() == "<" {
          if peek() == "P" { index += 1 }
          guard peek() == "<" else { throw SyntaxError(message: "invalid named capture") }
          index += 1
          var text = ""
          while let c = peek(), c != ">" {
            guard c == "_" || c.properties.isAlphabetic || c.properties.numericType != nil else {
              throw SyntaxError(message: "invalid named capture")
            }
            text.unicodeScalars.append(c)
            index += 1
          }
          guard peek() == ">", !text.isEmpty else { throw SyntaxError(message: "invalid named capture") }
          index += 1
          guard !groupNames.contains(text) else { throw SyntaxError(message: "duplicate capture group name: `\(text)`") }
          name = text
        } else {
          var negate = false
          var changed = false
          loop: while let c = peek() {
            index += 1
            switch c {
            case "i": inner.caseless = !negate
            case "m": inner.multiline = !negate
            case "s": inner.dotNewline = !negate
            case "U": inner.ungreedy = !negate
            case "-":
              guard !negate else { throw SyntaxError(message: "invalid or unsupported Perl syntax") }
              negate = true
              continue loop
            case ")":
              guard changed || !negate else { throw SyntaxError(message: "invalid or unsupported Perl syntax") }
              flags = inner
              return nil
            case ":":
              capture = false
              break loop
            default:
              throw SyntaxError(message: "invalid or unsupported Perl syntax: `(?\(c)`")
            }
            changed = true
          }
          if capture { throw SyntaxError(message: "missing closing ): `\(String(String.UnicodeScalarView(scalars)))`") }
        }
      }
      var groupIndex: Int?
      if capture {
        groupCount += 1
        groupIndex = groupCount
        groupNames.append(name)
      }
      let body = try parseAlternation(&inner)
      guard peek() == ")" else { throw SyntaxError(message: "missing closing ): `\(String(String.UnicodeScalarView(scalars)))`") }
      index += 1
      return .group(body, index: groupIndex)
    }

    static let digit: [ClosedRange<UInt32>] = [0x30...0x39]
    static let word: [ClosedRange<UInt32>] = [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A]
    static let space: [ClosedRange<UInt32>] = [0x09...0x0A, 0x0C...0x0D, 0x20...0x20]

    static let posix: [String: [ClosedRange<UInt32>]] = [
      "alnum": [0x30...0x39, 0x41...0x5A, 0x61...0x7A], "alpha": [0x41...0x5A, 0x61...0x7A], "ascii": [0x00...0x7F],
      "blank": [0x09...0x09, 0x20...0x20], "cntrl": [0x00...0x1F, 0x7F...0x7F], "digit": [0x30...0x39],
      "graph": [0x21...0x7E], "lower": [0x61...0x7A], "print": [0x20...0x7E],
      "punct": [0x21...0x2F, 0x3A...0x40, 0x5B...0x60, 0x7B...0x7E], "space": [0x09...0x0D, 0x20...0x20],
      "upper": [0x41...0x5A], "word": [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A], "xdigit": [0x30...0x39, 0x41...0x46, 0x61...0x66],
    ]

    static func complement(_ ranges: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
      var out: [ClosedRange<UInt32>] = []
      var next: UInt32 = 0
      for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
        if range.lowerBound > next { out.append(next...(range.lowerBound - 1)) }
        next = max(next, range.upperBound + 1)
      }
      if next <= 0x10FFFF { out.append(next...0x10FFFF) }
      return out
    }

    /// An escape: a class (`\d`), an assertion (`\b`), or a literal.
    mutating func parseEscape(_ flags: Flags, inClass: Bool) throws(SyntaxError) -> Node {
      guard let c = peek() else { throw SyntaxError(message: "trailing backslash at end of expression") }
      index += 1
      switch c {
      case "d": return .set(ScalarSet(ranges: Self.digit, negated: false, caseless: false))
      case "D": return .set(ScalarSet(ranges: Self.digit, negated: true, caseless: false))
      case "w": return .set(ScalarSet(ranges: Self.word, negated: false, caseless: false))
      case "W": return .set(ScalarSet(ranges: Self.word, negated: true, caseless: false))
      case "s": return .set(ScalarSet(ranges: Self.space, negated: false, caseless: false))
      case "S": return .set(ScalarSet(ranges: Self.space, negated: true, caseless: false))
      case "b" where !inClass: return .assertion(.wordBoundary)
      case "B" where !inClass: return .assertion(.notWordBoundary)
      case "A" where !inClass: return .assertion(.textStart)
      case "z" where !inClass: return .assertion(.textEnd)
      case "n": return .literal("\n", caseless: false)
      case "t": return .literal("\t", caseless: false)
      case "r": return .literal("\r", caseless: false)
      case "f": return .literal("\u{0C}", caseless: false)
      case "v": return .literal("\u{0B}", caseless: false)
      case "a": return .literal("\u{07}", caseless: false)
      case "x":
        var hex = ""
        if peek() == "{" {
          index += 1
          while let h = peek(), h != "}" {
            hex.unicodeScalars.append(h)
            index += 1
          }
          guard peek() == "}" else { throw SyntaxError(message: "invalid escape sequence: `\\x{`") }
          index += 1
        } else {
          for _ in 0..<2 {
            guard let h = peek() else { break }
            hex.unicodeScalars.append(h)
            index += 1
          }
        }
        guard let value = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(value) else {
          throw SyntaxError(message: "invalid escape sequence: `\\x\(hex)`")
        }
        return .literal(scalar, caseless: flags.caseless)
      case "p", "P":
        throw SyntaxError(message: "Unicode classes (\\p) are not supported by Kiln")
      default:
        guard c.isASCII, !(c.properties.isAlphabetic || c.properties.numericType != nil) else {
          throw SyntaxError(message: "invalid escape sequence: `\\\(c)`")
        }
        return .literal(c, caseless: flags.caseless)
      }
    }

    mutating func parseClass(_ flags: Flags) throws(SyntaxError) -> ScalarSet {
      var negated = false
      if peek() == "^" {
        index += 1
        negated = true
      }
      var ranges: [ClosedRange<UInt32>] = []
      var first = true
      while true {
        guard let c = peek() else { throw SyntaxError(message: "missing closing ]: `[`") }
        if c == "]" && !first {
          index += 1
          break
        }
        first = false
        if c == "[", index + 1 < scalars.count, scalars[index + 1] == ":" {
          var cursor = index + 2
          var name = ""
          var negate = false
          if cursor < scalars.count, scalars[cursor] == "^" {
            negate = true
            cursor += 1
          }
          while cursor < scalars.count, scalars[cursor] != ":" {
            name.unicodeScalars.append(scalars[cursor])
            cursor += 1
          }
          if cursor + 1 < scalars.count, scalars[cursor + 1] == "]", let posix = Self.posix[name] {
            ranges += negate ? Self.complement(posix) : posix
            index = cursor + 2
            continue
          }
        }
        var low: UInt32
        index += 1
        if c == "\\" {
          let escaped = try parseEscape(flags, inClass: true)
          switch escaped {
          case .set(let set):
            ranges += set.negated ? Self.complement(set.ranges) : set.ranges
            continue
          case .literal(let scalar, _):
            low = scalar.value
          default:
            throw SyntaxError(message: "invalid escape sequence in character class")
          }
        } else {
          low = c.value
        }
        if peek() == "-", index + 1 < scalars.count, scalars[index + 1] != "]" {
          index += 1
          guard let h = peek() else { throw SyntaxError(message: "missing closing ]") }
          index += 1
          var high = h.value
          if h == "\\" {
            guard case .literal(let scalar, _) = try parseEscape(flags, inClass: true) else {
              throw SyntaxError(message: "invalid character class range")
            }
            high = scalar.value
          }
          guard high >= low else { throw SyntaxError(message: "invalid character class range") }
          ranges.append(low...high)
        } else {
          ranges.append(low...low)
        }
      }
      return ScalarSet(ranges: ranges, negated: negated, caseless: flags.caseless)
    }
  }

  // MARK: - Compiling

  private struct Compiler {
    var program: [Instruction] = []

    mutating func emit(_ instruction: Instruction) throws(SyntaxError) {
      guard program.count < RegexEngine.maximumInstructions else { throw SyntaxError(message: "expression too large") }
      program.append(instruction)
    }

    mutating func compile(_ node: Node) throws(SyntaxError) {
      switch node {
      case .empty: break
      case .literal(let scalar, let caseless): try emit(.scalar(scalar, caseless: caseless))
      case .set(let set): try emit(.set(set))
      case .any(let dotNewline): try emit(.any(dotNewline: dotNewline))
      case .assertion(let assertion): try emit(.assert(assertion))
      case .concat(let items): for item in items { try compile(item) }
      case .group(let inner, let index):
        if let index { try emit(.save(2 * index)) }
        try compile(inner)
        if let index { try emit(.save(2 * index + 1)) }
      case .alternate(let branches):
        var jumps: [Int] = []
        for (position, branch) in branches.enumerated() {
          if position < branches.count - 1 {
            let split = program.count
            try emit(.split(split + 1, 0))
            try compile(branch)
            jumps.append(program.count)
            try emit(.jump(0))
            program[split] = .split(split + 1, program.count)
          } else {
            try compile(branch)
          }
        }
        for jump in jumps { program[jump] = .jump(program.count) }
      case .repeated(let inner, let minimum, let maximum, let greedy):
        guard minimum <= 1000, (maximum ?? 0) <= 1000 else { throw SyntaxError(message: "invalid repeat count") }
        if let maximum, maximum < minimum { throw SyntaxError(message: "invalid repeat count") }
        for _ in 0..<minimum { try compile(inner) }
        if let maximum {
          // Optional copies: split past all of them.
          var splits: [Int] = []
          for _ in minimum..<maximum {
            splits.append(program.count)
            try emit(.split(0, 0))
            try compile(inner)
          }
          for split in splits { program[split] = greedy ? .split(split + 1, program.count) : .split(program.count, split + 1) }
        } else {
          let split = program.count
          try emit(.split(0, 0))
          try compile(inner)
          try emit(.jump(split))
          program[split] = greedy ? .split(split + 1, program.count) : .split(program.count, split + 1)
        }
      }
    }
  }

  // MARK: - Matching

  /// The leftmost-first match starting the search at `from`: capture positions (scalar
  /// offsets, -1 for a group that did not take part), or nil.
  func match(_ input: [Unicode.Scalar], from: Int) -> [Int]? {
    let slots = 2 * (groupCount + 1)
    var threads: [(Int, [Int])] = []
    var matched: [Int]?
    var position = from
    while true {
      if matched == nil {
        // A new search starting here, at lower priority than the ones already running.
        var seen = Set(threads.map(\.0))
        addThread(&threads, &seen, 0, [Int](repeating: -1, count: slots), input, position)
      }
      if threads.isEmpty {
        // Nothing running: done after a match, else try the next start position.
        if matched != nil || position >= input.count { break }
        position += 1
        continue
      }
      var next: [(Int, [Int])] = []
      var seen = Set<Int>()
      let scalar: Unicode.Scalar? = position < input.count ? input[position] : nil
      step: for (pc, captures) in threads {
        switch program[pc] {
        case .match:
          matched = captures
          // Threads of lower priority than a match are cut off.
          break step
        case .scalar(let expected, let caseless):
          if let scalar, scalar == expected || (caseless && RegexEngine.caseVariants(expected).contains(scalar)) {
            addThread(&next, &seen, pc + 1, captures, input, position + 1)
          }
        case .set(let set):
          if let scalar, set.contains(scalar) { addThread(&next, &seen, pc + 1, captures, input, position + 1) }
        case .any(let dotNewline):
          if let scalar, dotNewline || scalar != "\n" { addThread(&next, &seen, pc + 1, captures, input, position + 1) }
        default:
          continue
        }
      }
      if scalar == nil { break }
      threads = next
      position += 1
    }
    return matched
  }

  /// Follows jumps, splits, saves and assertions from `pc`, adding the threads that wait on
  /// a scalar (or match) in priority order.
  private func addThread(
    _ list: inout [(Int, [Int])], _ seen: inout Set<Int>, _ pc: Int, _ captures: [Int], _ input: [Unicode.Scalar], _ position: Int
  ) {
    var stack: [(Int, [Int])] = [(pc, captures)]
    while let (pc, captures) = stack.popLast() {
      guard !seen.contains(pc) else { continue }
      seen.insert(pc)
      switch program[pc] {
      case .jump(let target):
        stack.append((target, captures))
      case .split(let first, let second):
        stack.append((second, captures))
        stack.append((first, captures))
      case .save(let slot):
        var updated = captures
        updated[slot] = position
        stack.append((pc + 1, updated))
      case .assert(let assertion):
        if holds(assertion, input, position) { stack.append((pc + 1, captures)) }
      default:
        list.append((pc, captures))
      }
    }
  }

  private func holds(_ assertion: Assertion, _ input: [Unicode.Scalar], _ position: Int) -> Bool {
    func isWord(_ index: Int) -> Bool {
      guard index >= 0, index < input.count else { return false }
      let v = input[index].value
      return (v >= 0x30 && v <= 0x39) || (v >= 0x41 && v <= 0x5A) || (v >= 0x61 && v <= 0x7A) || v == 0x5F
    }
    switch assertion {
    case .textStart: return position == 0
    case .textEnd: return position == input.count
    case .lineStart: return position == 0 || input[position - 1] == "\n"
    case .lineEnd: return position == input.count || input[position] == "\n"
    case .wordBoundary: return isWord(position - 1) != isWord(position)
    case .notWordBoundary: return isWord(position - 1) == isWord(position)
    }
  }

  /// Every match, as Go's `FindAll…` finds them: after an empty match the search moves on
  /// one scalar, and an empty match right after a match is skipped.
  func allMatches(_ input: [Unicode.Scalar], limit: Int) -> [[Int]] {
    var results: [[Int]] = []
    var position = 0
    var previousEnd = -1
    while position <= input.count, results.count < limit {
      guard let found = match(input, from: position) else { break }
      var accept = true
      if found[1] == found[0] {
        if found[0] == previousEnd { accept = false }
        position = found[1] + 1
      } else {
        position = found[1]
      }
      previousEnd = found[1]
      if accept { results.append(found) }
    }
    return results
  }
}
