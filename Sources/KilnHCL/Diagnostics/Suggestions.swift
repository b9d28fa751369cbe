/// "Did you mean …?": the closest candidate within an edit distance of 2, as HCL suggests.
enum Suggestions {
  static func closest(_ given: String, among candidates: [String]) -> String? {
    let word = Array(given.unicodeScalars)
    var best: (String, Int)?
    for candidate in candidates {
      let distance = levenshtein(word, Array(candidate.unicodeScalars))
      if distance < 3, best.map({ distance < $0.1 }) ?? true { best = (candidate, distance) }
    }
    return best?.0
  }

  static func levenshtein(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar]) -> Int {
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    // Long names cannot be within 2 of each other unless their lengths are: skip the work.
    if abs(a.count - b.count) > 2 { return 3 }
    var previous = Array(0...b.count)
    for (i, x) in a.enumerated() {
      var current = [i + 1] + [Int](repeating: 0, count: b.count)
      for (j, y) in b.enumerated() {
        current[j + 1] = min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1))
      }
      previous = current
    }
    return previous[b.count]
  }
}
