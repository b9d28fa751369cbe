/// An instant as Go's `time.Time` holds one for Packer's date functions: seconds since the
/// Unix epoch, nanoseconds, and the UTC offset it was written with (kept, as Go keeps the
/// zone of a parsed timestamp, so `formatdate` prints the hour the timestamp said).
///
/// Civil dates use the proleptic Gregorian calendar over Int64 days, so any year Go accepts
/// (RFC 3339 has four digits) formats and adds without Foundation's calendars.
struct GoTime: Sendable, Equatable {
  var unix: Int64
  var nanosecond: Int
  /// Seconds east of UTC.
  var offset: Int

  static let monthNames = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December",
  ]
  static let dayNames = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]

  /// The civil fields in the time's own offset.
  struct Civil {
    var year: Int64
    var month: Int // 1...12
    var day: Int // 1...31
    var hour: Int
    var minute: Int
    var second: Int
    var weekday: Int // 0 = Sunday
    var yearDay: Int // 1...366
  }

  var civil: Civil {
    let (local, overflow) = unix.addingReportingOverflow(Int64(offset))
    // Unreachable from templates (parsed times have four-digit years; unix_timestamp_parse is
    // UTC), but never a trap: the instant is then read in UTC.
    let instant = overflow ? unix : local
    // Floor division without overflow, for any Int64 (unix_timestamp_parse takes them all).
    var days = instant / 86_400
    var secondsOfDay = Int(instant % 86_400)
    if secondsOfDay < 0 {
      secondsOfDay += 86_400
      days -= 1
    }
    let (year, month, day) = Self.civilFromDays(days)
    let weekday = Int(((days % 7) + 11) % 7) // 1970-01-01 was a Thursday (4)
    let yearDay = Int(days - Self.daysFromCivil(year, 1, 1)) + 1
    return Civil(
      year: year, month: month, day: day, hour: secondsOfDay / 3600, minute: secondsOfDay / 60 % 60, second: secondsOfDay % 60,
      weekday: weekday, yearDay: yearDay)
  }

  /// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
  static func daysFromCivil(_ year: Int64, _ month: Int, _ day: Int) -> Int64 {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yearOfEra = y - era * 400
    let m = Int64(month)
    let dayOfYear = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
    let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
    return era * 146_097 + dayOfEra - 719_468
  }

  static func civilFromDays(_ days: Int64) -> (Int64, Int, Int) {
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let dayOfEra = z - era * 146_097
    let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let mp = (5 * dayOfYear + 2) / 153
    let day = Int(dayOfYear - (153 * mp + 2) / 5 + 1)
    let month = Int(mp < 10 ? mp + 3 : mp - 9)
    return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
  }

  static func daysIn(month: Int, year: Int64) -> Int {
    switch month {
    case 2: (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 29 : 28
    case 4, 6, 9, 11: 30
    default: 31
    }
  }

  /// Go's `Time.ISOWeek`.
  var isoWeek: (year: Int64, week: Int) {
    let c = civil
    // Thursday of this ISO week decides its year.
    let mondayBased = (c.weekday + 6) % 7
    let days = Self.daysFromCivil(c.year, c.month, c.day) - Int64(mondayBased) + 3
    let (year, _, _) = Self.civilFromDays(days)
    let week = Int((days - Self.daysFromCivil(year, 1, 1)) / 7) + 1
    return (year, week)
  }

  // MARK: - RFC 3339, as cty's parseTimestamp reads it

  /// Go's `time.Parse(time.RFC3339, text)`, with the messages cty's `parseTimestamp` makes of
  /// its errors.
  static func parseRFC3339(_ text: String) throws(HCLFunctionError) -> GoTime {
    let bytes = Array(text.utf8)
    var index = 0
    func rest() -> String { String(decoding: bytes[min(index, bytes.count)...], as: UTF8.self) }
    func fail(_ what: String) -> HCLFunctionError {
      index >= bytes.count
        ? .argument(1, "not a valid RFC3339 timestamp: end of string before \(what)")
        : .argument(1, "not a valid RFC3339 timestamp: cannot use \(GoQuote.quote(rest())) as \(what)")
    }
    func digits(_ count: Int, _ what: String) throws(HCLFunctionError) -> Int {
      guard index + count <= bytes.count, bytes[index..<index + count].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { throw fail(what) }
      let value = bytes[index..<index + count].reduce(0) { $0 * 10 + Int($1 - 0x30) }
      index += count
      return value
    }
    func literal(_ byte: UInt8) throws(HCLFunctionError) {
      let expected = String(UnicodeScalar(byte))
      guard index < bytes.count else {
        if byte == UInt8(ascii: "T") { throw .argument(1, "not a valid RFC3339 timestamp: missing required time introducer 'T'") }
        throw .argument(1, "not a valid RFC3339 timestamp: end of string where \(GoQuote.quote(expected)) is expected")
      }
      guard bytes[index] == byte else {
        if byte == UInt8(ascii: "T") { throw .argument(1, "not a valid RFC3339 timestamp: missing required time introducer 'T'") }
        throw .argument(
          1, "not a valid RFC3339 timestamp: found \(GoQuote.quote(rest())) where \(GoQuote.quote(expected)) is expected")
      }
      index += 1
    }
    let year = try digits(4, "year")
    try literal(UInt8(ascii: "-"))
    /// Two digits within `range`; out of range, the error quotes the text from the field on.
    func field(_ what: String, _ range: ClosedRange<Int>) throws(HCLFunctionError) -> Int {
      let start = index
      let value = try digits(2, what)
      guard range.contains(value) else {
        index = start
        throw fail(what)
      }
      return value
    }
    let month = try field("month", 1...12)
    try literal(UInt8(ascii: "-"))
    let dayStart = index
    let day = try digits(2, "day of month")
    try literal(UInt8(ascii: "T"))
    let hour = try field("hour", 0...23)
    try literal(UInt8(ascii: ":"))
    let minute = try field("minute", 0...59)
    try literal(UInt8(ascii: ":"))
    let second = try field("second", 0...59)
    var nanosecond = 0
    if index < bytes.count, bytes[index] == UInt8(ascii: ".") || bytes[index] == UInt8(ascii: ",") {
      var cursor = index + 1
      var scale = 100_000_000
      while cursor < bytes.count, bytes[cursor] >= 0x30, bytes[cursor] <= 0x39 {
        nanosecond += Int(bytes[cursor] - 0x30) * scale
        scale /= 10
        cursor += 1
      }
      guard cursor > index + 1 else { throw fail("second") }
      index = cursor
    }
    var offset = 0
    guard index < bytes.count else { throw fail("UTC offset") }
    if bytes[index] == UInt8(ascii: "Z") {
      index += 1
    } else if bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
      let negative = bytes[index] == UInt8(ascii: "-")
      let offsetStart = index
      index += 1
      guard index + 5 <= bytes.count, bytes[index + 2] == UInt8(ascii: ":") else {
        index = offsetStart
        throw fail("UTC offset")
      }
      let hours = try digits(2, "UTC offset")
      index += 1
      let minutes = try digits(2, "UTC offset")
      guard hours < 24, minutes < 60 else {
        index = offsetStart
        throw fail("UTC offset")
      }
      offset = (hours * 3600 + minutes * 60) * (negative ? -1 : 1)
    } else {
      throw fail("UTC offset")
    }
    guard index == bytes.count else {
      throw .argument(1, "not a valid RFC3339 timestamp: extra text: \(GoQuote.quote(rest()))")
    }
    guard day >= 1, day <= daysIn(month: month, year: Int64(year)) else {
      index = dayStart
      throw .argument(1, "not a valid RFC3339 timestamp: day out of range")
    }
    let days = daysFromCivil(Int64(year), month, day)
    let local = days * 86_400 + Int64(hour * 3600 + minute * 60 + second)
    return GoTime(unix: local - Int64(offset), nanosecond: nanosecond, offset: offset)
  }

  // MARK: - Go's layouts (legacy_isotime, strftime's conversions, RFC 3339 output)

  /// `Time.Format(layout)` for Go's reference-time layouts ("2006-01-02T15:04:05Z07:00").
  func format(layout: String) -> String {
    let c = civil
    let chars = Array(layout.unicodeScalars)
    var out = ""
    var i = 0
    func has(_ token: String) -> Bool {
      let t = Array(token.unicodeScalars)
      return i + t.count <= chars.count && Array(chars[i..<i + t.count]) == t
    }
    func pad(_ value: Int64, _ width: Int, _ fill: Character = "0") -> String {
      let text = String(value.magnitude)
      return (value < 0 ? "-" : "") + String(repeating: fill, count: max(0, width - text.count)) + text
    }
    func zone(colon: Bool, seconds: Bool, short: Bool, zForUTC: Bool) -> String {
      if zForUTC && offset == 0 { return "Z" }
      let sign = offset < 0 ? "-" : "+"
      let magnitude = abs(offset)
      var text = sign + pad(Int64(magnitude / 3600), 2)
      if !short { text += (colon ? ":" : "") + pad(Int64(magnitude / 60 % 60), 2) }
      if seconds { text += (colon ? ":" : "") + pad(Int64(magnitude % 60), 2) }
      return text
    }
    let hour12 = c.hour % 12 == 0 ? 12 : c.hour % 12
    // Go's nextStdChunk: the longest token at each position, in its order of checks.
    let tokens: [(String, () -> String)] = [
      ("January", { Self.monthNames[c.month - 1] }), ("Jan", { String(Self.monthNames[c.month - 1].prefix(3)) }),
      ("Monday", { Self.dayNames[c.weekday] }), ("Mon", { String(Self.dayNames[c.weekday].prefix(3)) }),
      ("MST", { offset == 0 ? "UTC" : zone(colon: false, seconds: false, short: true, zForUTC: false) }),
      ("01", { pad(Int64(c.month), 2) }), ("02", { pad(Int64(c.day), 2) }), ("03", { pad(Int64(hour12), 2) }),
      ("04", { pad(Int64(c.minute), 2) }), ("05", { pad(Int64(c.second), 2) }), ("06", { pad(c.year % 100, 2) }),
      ("002", { pad(Int64(c.yearDay), 3) }), ("__2", { pad(Int64(c.yearDay), 3, " ") }), ("_2006", { "_" + pad(c.year, 4) }),
      ("_2", { pad(Int64(c.day), 2, " ") }), ("15", { pad(Int64(c.hour), 2) }), ("1", { String(c.month) }),
      ("2006", { pad(c.year, 4) }), ("2", { String(c.day) }), ("3", { String(hour12) }), ("4", { String(c.minute) }),
      ("5", { String(c.second) }), ("PM", { c.hour >= 12 ? "PM" : "AM" }), ("pm", { c.hour >= 12 ? "pm" : "am" }),
      ("Z070000", { zone(colon: false, seconds: true, short: false, zForUTC: true) }),
      ("Z07:00:00", { zone(colon: true, seconds: true, short: false, zForUTC: true) }),
      ("Z0700", { zone(colon: false, seconds: false, short: false, zForUTC: true) }),
      ("Z07:00", { zone(colon: true, seconds: false, short: false, zForUTC: true) }),
      ("Z07", { zone(colon: false, seconds: false, short: true, zForUTC: true) }),
      ("-070000", { zone(colon: false, seconds: true, short: false, zForUTC: false) }),
      ("-07:00:00", { zone(colon: true, seconds: true, short: false, zForUTC: false) }),
      ("-0700", { zone(colon: false, seconds: false, short: false, zForUTC: false) }),
      ("-07:00", { zone(colon: true, seconds: false, short: false, zForUTC: false) }),
      ("-07", { zone(colon: false, seconds: false, short: true, zForUTC: false) }),
    ]
    outer: while i < chars.count {
      // Fractional seconds: ".000" / ",000" (fixed) or ".999" (trailing zeros dropped) after a separator.
      if chars[i] == "." || chars[i] == ",", i + 1 < chars.count, chars[i + 1] == "0" || chars[i + 1] == "9" {
        let digit = chars[i + 1]
        var j = i + 1
        while j < chars.count, chars[j] == digit { j += 1 }
        if j == chars.count || !(chars[j].properties.numericType != nil) {
          let width = j - i - 1
          var fraction = String(pad(Int64(nanosecond), 9).prefix(width))
          if digit == "9" {
            while fraction.hasSuffix("0") { fraction.removeLast() }
            out += fraction.isEmpty ? "" : String(chars[i]) + fraction
          } else {
            out += String(chars[i]) + fraction
          }
          i = j
          continue
        }
      }
      for (token, render) in tokens where has(token) {
        // Go reads "Jan"/"Mon" only when not followed by a lower-case letter ("Janet").
        if token == "Jan" || token == "Mon", i + token.count < chars.count, chars[i + token.count].properties.isLowercase {
          continue
        }
        out += render()
        i += token.unicodeScalars.count
        continue outer
      }
      out.unicodeScalars.append(chars[i])
      i += 1
    }
    return out
  }

  var rfc3339: String { format(layout: "2006-01-02T15:04:05Z07:00") }

  // MARK: - Durations

  /// Go's `time.ParseDuration`, in nanoseconds (errors as Go words them).
  static func parseDuration(_ text: String) throws(HCLFunctionError) -> Int64 {
    let quoted = GoQuote.quote(text)
    var scalars = Array(text.unicodeScalars)[...]
    var negative = false
    if let first = scalars.first, first == "-" || first == "+" {
      negative = first == "-"
      scalars = scalars.dropFirst()
    }
    if String(String.UnicodeScalarView(scalars)) == "0" { return 0 }
    guard !scalars.isEmpty else { throw .general("time: invalid duration \(quoted)") }
    let units: [String: Double] = [
      "ns": 1, "us": 1e3, "µs": 1e3, "μs": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9,
    ]
    var total: Double = 0
    while !scalars.isEmpty {
      var whole = ""
      var fraction = ""
      while let c = scalars.first, c.properties.numericType != nil, c.isASCII {
        whole.unicodeScalars.append(c)
        scalars = scalars.dropFirst()
      }
      if scalars.first == "." {
        scalars = scalars.dropFirst()
        while let c = scalars.first, c.properties.numericType != nil, c.isASCII {
          fraction.unicodeScalars.append(c)
          scalars = scalars.dropFirst()
        }
      }
      guard !(whole.isEmpty && fraction.isEmpty) else { throw .general("time: invalid duration \(quoted)") }
      var unit = ""
      while let c = scalars.first, c != ".", !(c.properties.numericType != nil && c.isASCII) {
        unit.unicodeScalars.append(c)
        scalars = scalars.dropFirst()
      }
      guard !unit.isEmpty else { throw .general("time: missing unit in duration \(quoted)") }
      guard let scale = units[unit] else { throw .general("time: unknown unit \(GoQuote.quote(unit)) in duration \(quoted)") }
      total += (Double(whole.isEmpty ? "0" : whole) ?? 0) * scale + (Double("0." + (fraction.isEmpty ? "0" : fraction)) ?? 0) * scale
      // 2^63 is exactly representable; anything at or past it overflows Go's int64 too.
      guard total < 9.223372036854775807e18 else { throw .general("time: invalid duration \(quoted)") }
    }
    return Int64(negative ? -total : total)
  }

  func adding(nanoseconds: Int64) -> GoTime {
    let sum = Int64(nanosecond) + nanoseconds % 1_000_000_000
    var seconds = unix + nanoseconds / 1_000_000_000 + sum / 1_000_000_000
    var nanos = sum % 1_000_000_000
    if nanos < 0 {
      nanos += 1_000_000_000
      seconds -= 1
    }
    return GoTime(unix: seconds, nanosecond: Int(nanos), offset: offset)
  }
}
