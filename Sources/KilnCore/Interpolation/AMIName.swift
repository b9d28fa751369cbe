/// EC2's rule for an image name, in one place: `CreateImage`, `CopyImage` and
/// `RegisterImage` take "3-128 alphanumeric characters, parentheses (()), square brackets
/// ([]), spaces ( ), periods (.), slashes (/), dashes (-), single quotes ('), at-signs (@), or
/// underscores (_)" (EC2 API reference, CreateImage, `Name`). `amazon-ebs` checks `ami_name`
/// against it, and Packer's `clean_resource_name` maps every other character to `-`.
public enum AMIName {
  /// The characters a name may hold.
  public static let allowed: Set<Unicode.Scalar> = Set(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789()[] ./-'@_".unicodeScalars)

  /// How long a name may be, in characters.
  public static let lengths = 3...128

  /// The first character `name` may not hold, if any.
  public static func firstDisallowed(in name: String) -> Unicode.Scalar? {
    name.unicodeScalars.first { !allowed.contains($0) }
  }

  /// `name` with every character it may not hold replaced by `-` (`clean_resource_name`).
  public static func cleaned(_ name: String) -> String {
    var out = String.UnicodeScalarView()
    for scalar in name.unicodeScalars {
      out.append(allowed.contains(scalar) ? scalar : "-")
    }
    return String(out)
  }
}
