/// "Did you mean …?" for misspelt keys and function names.
public enum Suggestions {
  /// Words longer than this (in UTF-8 bytes) get no suggestion.
  public static let maximumWordBytes = 256

  /// The candidate closest to `word` by edit distance, if it is close enough to be a likely
  /// typo (at most a third of the word's length, and at least 1 edit allowed).
  public static func closest(to word: String, in candidates: some Sequence<String>) -> String? {
    // No typo is this long, and the edit distance costs the product of the lengths: a 50 MB
    // unknown key must not cost minutes (nor its lowercased copies, gigabytes).
    guard word.utf8.count <= maximumWordBytes else { return nil }
    let limit = max(1, word.count / 3)
    var best: (String, Int)?
    for candidate in candidates {
      // The distance is at least the difference in length: skip what cannot be close.
      guard abs(candidate.count - word.count) <= limit else { continue }
      let distance = editDistance(word.lowercased(), candidate.lowercased())
      if distance <= limit, distance < word.count, distance < (best?.1 ?? Int.max) || (distance == best?.1 && candidate < best!.0) {
        best = (candidate, distance)
      }
    }
    return best?.0
  }

  /// Levenshtein distance, with a transposition counting as one edit.
  public static func editDistance(_ a: String, _ b: String) -> Int {
    let x = Array(a.unicodeScalars)
    let y = Array(b.unicodeScalars)
    if x.isEmpty { return y.count }
    if y.isEmpty { return x.count }
    var previousPrevious = [Int](repeating: 0, count: y.count + 1)
    var previous = Array(0...y.count)
    var current = [Int](repeating: 0, count: y.count + 1)
    for i in 1...x.count {
      current[0] = i
      for j in 1...y.count {
        let cost = x[i - 1] == y[j - 1] ? 0 : 1
        current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
        if i > 1, j > 1, x[i - 1] == y[j - 2], x[i - 2] == y[j - 1] {
          current[j] = min(current[j], previousPrevious[j - 2] + 1)
        }
      }
      (previousPrevious, previous, current) = (previous, current, previousPrevious)
    }
    return previous[y.count]
  }
}
