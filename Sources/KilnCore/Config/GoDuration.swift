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

  /// Go's `time.Duration.String()`: "1m30s", "10s", "1.5s", "500ms", "1h0m0s", "0s"; what
  /// Packer prints where it formats a duration with `%s` ("Pausing 1m30s before …").
  public static func format(seconds: Double) -> String {
    let total = Int64((seconds * 1e9).rounded())
    if total == 0 { return "0s" }
    let sign = total < 0 ? "-" : ""
    let nanoseconds = total.magnitude
    func fraction(_ value: UInt64, _ digits: Int) -> String {
      let unit = (0..<digits).reduce(UInt64(1)) { product, _ in product * 10 }
      var text = String(value / unit)
      var rest = String(value % unit)
      rest = String(repeating: "0", count: digits - rest.count) + rest
      while rest.hasSuffix("0") { rest.removeLast() }
      if !rest.isEmpty { text += "." + rest }
      return text
    }
    if nanoseconds < 1_000 { return "\(sign)\(nanoseconds)ns" }
    if nanoseconds < 1_000_000 { return sign + fraction(nanoseconds, 3) + "µs" }
    if nanoseconds < 1_000_000_000 { return sign + fraction(nanoseconds, 6) + "ms" }
    let wholeSeconds = nanoseconds / 1_000_000_000
    let secondsText = fraction(nanoseconds % 60_000_000_000, 9) + "s"
    let minutes = (wholeSeconds / 60) % 60
    let hours = wholeSeconds / 3600
    if hours > 0 { return "\(sign)\(hours)h\(minutes)m\(secondsText)" }
    if minutes > 0 { return "\(sign)\(minutes)m\(secondsText)" }
    return sign + secondsText
  }
}
