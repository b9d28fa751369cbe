public import Foundation

/// Formats a date with a Go reference-time layout ("2006-01-02T15:04:05Z07:00"), as Packer's
/// `isotime` does. Kiln always formats in UTC, as Packer does.
public enum GoTimeLayout {
  public static let rfc3339 = "2006-01-02T15:04:05Z07:00"

  private static let monthNames = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
  ]
  private static let dayNames = [
    "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
  ]

  /// The layout tokens, longest first where one is a prefix of another.
  private static let tokens: [String] = [
    "January", "Jan", "Monday", "Mon", "MST",
    "2006", "002", "__2", "_2",
    "-07:00:00", "-070000", "-07:00", "-0700", "-07",
    "Z07:00:00", "Z070000", "Z07:00", "Z0700", "Z07",
    "01", "02", "03", "04", "05", "06", "15",
    "PM", "pm",
    "1", "2", "3", "4", "5",
  ]

  public static func format(_ date: Date, layout: String) -> String {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC")!
    let c = calendar.dateComponents(
      [.year, .month, .day, .hour, .minute, .second, .nanosecond, .weekday], from: date)
    let year = c.year ?? 1970
    let month = c.month ?? 1
    let day = c.day ?? 1
    let hour = c.hour ?? 0
    let minute = c.minute ?? 0
    let second = c.second ?? 0
    let nanos = c.nanosecond ?? 0
    let weekday = (c.weekday ?? 1) - 1
    let dayOfYear = calendar.ordinality(of: .day, in: .year, for: date) ?? 1

    func pad(_ value: Int, _ width: Int, _ filler: Character = "0") -> String {
      let text = String(value)
      return String(repeating: filler, count: max(0, width - text.count)) + text
    }

    let chars = Array(layout)
    var out = ""
    var i = 0
    outer: while i < chars.count {
      // Fractional seconds: "." or "," followed by a run of 0s or 9s, not followed by a digit.
      if chars[i] == "." || chars[i] == ",", i + 1 < chars.count, chars[i + 1] == "0" || chars[i + 1] == "9" {
        let digit = chars[i + 1]
        var j = i + 1
        while j < chars.count, chars[j] == digit { j += 1 }
        if j >= chars.count || !chars[j].isNumber {
          let count = j - i - 1
          var fraction = pad(nanos, 9)
          fraction = String(fraction.prefix(count))
          if digit == "9" {
            while fraction.hasSuffix("0") { fraction.removeLast() }
            if !fraction.isEmpty { out += String(chars[i]) + fraction }
          } else {
            out += String(chars[i]) + fraction
          }
          i = j
          continue
        }
      }
      for token in tokens {
        let tokenChars = Array(token)
        guard i + tokenChars.count <= chars.count, Array(chars[i..<i + tokenChars.count]) == tokenChars else {
          continue
        }
        // "Jan"/"Mon" etc. are literal when followed by a lower-case letter ("Monkey").
        if ["Jan", "Mon", "MST"].contains(token), i + tokenChars.count < chars.count,
          chars[i + tokenChars.count].isLowercase
        {
          continue
        }
        switch token {
        case "January": out += monthNames[month - 1]
        case "Jan": out += String(monthNames[month - 1].prefix(3))
        case "Monday": out += dayNames[weekday]
        case "Mon": out += String(dayNames[weekday].prefix(3))
        case "MST": out += "UTC"
        case "2006": out += pad(year, 4)
        case "002": out += pad(dayOfYear, 3)
        case "__2": out += pad(dayOfYear, 3, " ")
        case "_2": out += pad(day, 2, " ")
        case "-07:00:00": out += "+00:00:00"
        case "-070000": out += "+000000"
        case "-07:00": out += "+00:00"
        case "-0700": out += "+0000"
        case "-07": out += "+00"
        case "Z07:00:00", "Z070000", "Z07:00", "Z0700", "Z07": out += "Z"
        case "01": out += pad(month, 2)
        case "02": out += pad(day, 2)
        case "03": out += pad(hour % 12 == 0 ? 12 : hour % 12, 2)
        case "04": out += pad(minute, 2)
        case "05": out += pad(second, 2)
        case "06": out += pad(year % 100, 2)
        case "15": out += pad(hour, 2)
        case "PM": out += hour >= 12 ? "PM" : "AM"
        case "pm": out += hour >= 12 ? "pm" : "am"
        case "1": out += String(month)
        case "2": out += String(day)
        case "3": out += String(hour % 12 == 0 ? 12 : hour % 12)
        case "4": out += String(minute)
        case "5": out += String(second)
        default: out += token
        }
        i += tokenChars.count
        continue outer
      }
      out.append(chars[i])
      i += 1
    }
    return out
  }
}
