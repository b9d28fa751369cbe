import Foundation

/// Packer's date functions: cty's `formatdate` and `timeadd`, Packer's `timestamp`,
/// `legacy_isotime` / `legacy_strftime` (the clock of the run, in Go's and strftime's
/// layouts), and `rfc3339_parse` / `unix_timestamp_parse`.
enum DateFunctions {
  static func time(_ date: Date) -> GoTime {
    let interval = date.timeIntervalSince1970
    let seconds = interval.rounded(.down)
    return GoTime(unix: Int64(seconds), nanosecond: Int(((interval - seconds) * 1e9).rounded()) % 1_000_000_000, offset: 0)
  }

  /// cty's `formatdate`: letters are verbs (YYYY, MM, DD, hh, …), quotes are literals.
  static func formatdate(_ format: String, _ timestamp: String) throws(HCLFunctionError) -> HCLValue {
    let time = try GoTime.parseRFC3339(timestamp)
    let c = time.civil
    let bytes = Array(format.utf8)
    var out: [UInt8] = []
    func isVerb(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) }
    func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
    var i = 0
    while i < bytes.count {
      let b = bytes[i]
      if b == UInt8(ascii: "'") {
        if i + 1 < bytes.count, bytes[i + 1] == b {
          out.append(b)
          i += 2
          continue
        }
        var j = i + 1
        var literal: [UInt8] = []
        var closed = false
        while j < bytes.count {
          if bytes[j] == b {
            if j + 1 < bytes.count, bytes[j + 1] == b {
              literal.append(b)
              j += 2
              continue
            }
            closed = true
            j += 1
            break
          }
          literal.append(bytes[j])
          j += 1
        }
        guard closed else { throw .argument(0, "unterminated literal '") }
        out += literal
        i = j
        continue
      }
      guard isVerb(b) else {
        out.append(b)
        i += 1
        continue
      }
      var j = i
      while j < bytes.count, bytes[j] == b { j += 1 }
      let count = j - i
      let token = String(decoding: bytes[i..<j], as: UTF8.self)
      func bad(_ rule: String) -> HCLFunctionError {
        .argument(0, "invalid date format verb \(GoQuote.quote(token))\(rule.isEmpty ? "" : ": " + rule)")
      }
      var text: String
      switch (b, count) {
      case (UInt8(ascii: "Y"), 2): text = two(Int(((c.year % 100) + 100) % 100))
      case (UInt8(ascii: "Y"), 4): text = String(format4(c.year))
      case (UInt8(ascii: "Y"), _): throw bad("year must either be \"YY\" or \"YYYY\"")
      case (UInt8(ascii: "M"), 1): text = String(c.month)
      case (UInt8(ascii: "M"), 2): text = two(c.month)
      case (UInt8(ascii: "M"), 3): text = String(GoTime.monthNames[c.month - 1].prefix(3))
      case (UInt8(ascii: "M"), 4): text = GoTime.monthNames[c.month - 1]
      case (UInt8(ascii: "M"), _): throw bad("month must be \"M\", \"MM\", \"MMM\", or \"MMMM\"")
      case (UInt8(ascii: "D"), 1): text = String(c.day)
      case (UInt8(ascii: "D"), 2): text = two(c.day)
      case (UInt8(ascii: "D"), _): throw bad("day of month must either be \"D\" or \"DD\"")
      case (UInt8(ascii: "E"), 3): text = String(GoTime.dayNames[c.weekday].prefix(3))
      case (UInt8(ascii: "E"), 4): text = GoTime.dayNames[c.weekday]
      case (UInt8(ascii: "E"), _): throw bad("day of week must either be \"EEE\" or \"EEEE\"")
      case (UInt8(ascii: "h"), 1): text = String(c.hour)
      case (UInt8(ascii: "h"), 2): text = two(c.hour)
      case (UInt8(ascii: "h"), _): throw bad("24-hour must either be \"h\" or \"hh\"")
      case (UInt8(ascii: "H"), 1), (UInt8(ascii: "H"), 2):
        let hour = c.hour % 12 == 0 ? 12 : c.hour % 12
        text = count == 1 ? String(hour) : two(hour)
      case (UInt8(ascii: "H"), _): throw bad("12-hour must either be \"H\" or \"HH\"")
      case (UInt8(ascii: "A"), 2): text = c.hour < 12 ? "AM" : "PM"
      case (UInt8(ascii: "a"), 2): text = c.hour < 12 ? "am" : "pm"
      case (UInt8(ascii: "A"), _), (UInt8(ascii: "a"), _):
        let letter = String(UnicodeScalar(b))
        throw bad("must be \"\(letter)\(letter)\"")
      case (UInt8(ascii: "m"), 1): text = String(c.minute)
      case (UInt8(ascii: "m"), 2): text = two(c.minute)
      case (UInt8(ascii: "m"), _): throw bad("minute must either be \"m\" or \"mm\"")
      case (UInt8(ascii: "s"), 1): text = String(c.second)
      case (UInt8(ascii: "s"), 2): text = two(c.second)
      case (UInt8(ascii: "s"), _): throw bad("second must either be \"s\" or \"ss\"")
      case (UInt8(ascii: "Z"), 1): text = time.format(layout: "Z07:00")
      case (UInt8(ascii: "Z"), 3):
        let numeric = time.format(layout: "-0700")
        text = numeric == "+0000" ? "UTC" : numeric
      case (UInt8(ascii: "Z"), 4): text = time.format(layout: "-0700")
      case (UInt8(ascii: "Z"), 5): text = time.format(layout: "-07:00")
      case (UInt8(ascii: "Z"), _): throw bad("timezone must be Z, ZZZZ, or ZZZZZ")
      default: throw bad("")
      }
      out += Array(text.utf8)
      i = j
    }
    return .string(String(decoding: out, as: UTF8.self))
  }

  private static func format4(_ year: Int64) -> String {
    let text = String(year.magnitude)
    return (year < 0 ? "-" : "") + String(repeating: "0", count: max(0, 4 - text.count)) + text
  }

  /// cty's `timeadd`: a timestamp plus a Go duration, as RFC 3339 in the timestamp's offset.
  static func timeadd(_ timestamp: String, _ duration: String) throws(HCLFunctionError) -> HCLValue {
    let time: GoTime
    do {
      time = try GoTime.parseRFC3339(timestamp)
    } catch {
      // cty returns this one as a plain error, not an argument's.
      if case .argument(_, let message) = error { throw .general(message) }
      throw error
    }
    return .string(time.adding(nanoseconds: try GoTime.parseDuration(duration)).rfc3339)
  }

  /// jehiah/go-strftime, which Packer's `legacy_strftime` uses: `%X` for the conversions it
  /// knows (each one a Go layout), `%%` a percent sign, anything else kept as written.
  static func strftime(_ format: String, _ time: GoTime) -> String {
    let conversions: [UInt8: String] = [
      UInt8(ascii: "B"): "January", UInt8(ascii: "b"): "Jan", UInt8(ascii: "m"): "01", UInt8(ascii: "A"): "Monday",
      UInt8(ascii: "a"): "Mon", UInt8(ascii: "d"): "02", UInt8(ascii: "H"): "15", UInt8(ascii: "I"): "03",
      UInt8(ascii: "M"): "04", UInt8(ascii: "S"): "05", UInt8(ascii: "Y"): "2006", UInt8(ascii: "y"): "06",
      UInt8(ascii: "p"): "PM", UInt8(ascii: "Z"): "MST", UInt8(ascii: "z"): "-0700",
    ]
    let bytes = Array(format.utf8)
    var out: [UInt8] = []
    var i = 0
    while i < bytes.count {
      guard bytes[i] == UInt8(ascii: "%") else {
        out.append(bytes[i])
        i += 1
        continue
      }
      guard i + 1 < bytes.count else {
        out.append(bytes[i])
        break
      }
      let verb = bytes[i + 1]
      if verb == UInt8(ascii: "%") {
        out.append(verb)
      } else if let layout = conversions[verb] {
        out += Array(time.format(layout: layout).utf8)
      } else {
        out += [UInt8(ascii: "%"), verb]
      }
      i += 2
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// The fields `rfc3339_parse` and `unix_timestamp_parse` give (Packer 1.10).
  static func fields(_ time: GoTime) -> [String: HCLValue] {
    let c = time.civil
    let iso = time.isoWeek
    return [
      "year": .number(HCLNumber(Int(c.year))), "year_day": .number(c.yearDay), "day": .number(c.day), "month": .number(c.month),
      "month_name": .string(GoTime.monthNames[c.month - 1]), "weekday": .number(c.weekday),
      "weekday_name": .string(GoTime.dayNames[c.weekday]), "hour": .number(c.hour), "minute": .number(c.minute),
      "second": .number(c.second), "iso_year": .number(HCLNumber(Int(iso.year))), "iso_week": .number(iso.week),
    ]
  }

  static func rfc3339Parse(_ text: String) throws(HCLFunctionError) -> HCLValue {
    // Packer accepts RFC 3339 with a "T" or a space between date and time.
    let bytes = Array(text.utf8)
    var normalized = text
    if bytes.count > 10, bytes[10] == UInt8(ascii: " ") {
      var copy = bytes
      copy[10] = UInt8(ascii: "T")
      normalized = String(decoding: copy, as: UTF8.self)
    }
    guard let time = try? GoTime.parseRFC3339(normalized) else {
      throw .argument(0, "\(GoQuote.quote(text)) is not a valid RFC3339 timestamp")
    }
    var fields = fields(time)
    fields["unix"] = .number(HCLNumber(Int(time.unix)))
    return .object(fields)
  }

  static func unixTimestampParse(_ value: HCLValue) throws(HCLFunctionError) -> HCLValue {
    guard case .number(let number) = value, let whole = number.exactInt else {
      throw .argument(
        0,
        "unix_timestamp must be a whole number of seconds representable as a 64-bit integer: value must be a whole number, between -9223372036854775808 and 9223372036854775807"
      )
    }
    let time = GoTime(unix: Int64(whole), nanosecond: 0, offset: 0)
    var fields = fields(time)
    fields["rfc3339"] = .string(time.rfc3339)
    return .object(fields)
  }
}
