/// Durations as Packer's summary lines print them: `durafmt.Parse(d).LimitFirstN(2)` (the
/// hako/durafmt version Packer 1.6.6 vendors). The largest two non-zero units of years (365
/// days), weeks, days, hours, minutes, seconds, milliseconds and microseconds, singular
/// for 1: "21 milliseconds 901 microseconds", "5 minutes 1 second"; zero is "0 seconds".
public enum Durafmt {
  public static func limitFirstTwo(_ duration: Duration) -> String {
    let (seconds, attoseconds) = duration.components
    let negative = seconds < 0 || attoseconds < 0
    var remaining = abs(seconds) &* 1_000_000 &+ abs(attoseconds) / 1_000_000_000_000
    let units: [(name: String, microseconds: Int64)] = [
      ("years", 365 * 24 * 3600 * 1_000_000), ("weeks", 7 * 24 * 3600 * 1_000_000), ("days", 24 * 3600 * 1_000_000),
      ("hours", 3600 * 1_000_000), ("minutes", 60 * 1_000_000), ("seconds", 1_000_000), ("milliseconds", 1000), ("microseconds", 1),
    ]
    var parts: [String] = []
    for unit in units {
      let value = remaining / unit.microseconds
      remaining -= value * unit.microseconds
      if value == 1 {
        parts.append("1 " + unit.name.dropLast())
      } else if value > 1 {
        parts.append("\(value) \(unit.name)")
      }
    }
    if parts.isEmpty { return "0 seconds" }
    return (negative ? "-" : "") + parts.prefix(2).joined(separator: " ")
  }
}
