/// Go's duration syntax ("90s", "1h30m", "500ms", "1.5h"), which Packer options use.
public enum GoDuration {
  /// Parses a Go duration into seconds. `nil` when the text is not a duration.
  public static func parse(_ text: String) -> Double? {
    var chars = Substring(text)
    var negative = false
    if chars.first == "-" || chars.first == "+" {
      negative = chars.first == "-"
      chars = chars.dropFirst()
    }
    if chars == "0" { return 0 }
    guard !chars.isEmpty else { return nil }
    let units: [(String, Double)] = [
      ("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("μs", 1e-6), ("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600),
    ]
    var total = 0.0
    while !chars.isEmpty {
      let number = chars.prefix { $0.isNumber || $0 == "." }
      guard !number.isEmpty, let value = Double(number) else { return nil }
      chars = chars.dropFirst(number.count)
      guard let unit = units.first(where: { chars.hasPrefix($0.0) && !(($0.0 == "m") && chars.hasPrefix("ms")) }) else {
        return nil
      }
      chars = chars.dropFirst(unit.0.count)
      total += value * unit.1
    }
    return negative ? -total : total
  }
}
