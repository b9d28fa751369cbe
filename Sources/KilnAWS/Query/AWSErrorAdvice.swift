import Foundation

// What AWS's error codes mean for someone running a build, in one place: for each code Kiln
// explains, what happened and what to do. `AWSServiceError.description` puts the advice on
// the line after AWS's own words.

extension AWSServiceError {
  /// What happened and what to do, for the codes Kiln knows a user meets and cannot read
  /// at a glance; nil for the rest (AWS's message says enough).
  public var advice: String? {
    let call = "\(service):\(action)"
    switch code {
    case "UnauthorizedOperation", "AccessDenied", "AccessDeniedException", "UnauthorizedAccess":
      return authorizationAdvice(call)
    case "InsufficientInstanceCapacity":
      return Self.advice(
        happened:
          "AWS has no spare capacity for this instance type in this Availability Zone right now: a shortage on AWS's side, not a mistake in the template",
        toDo:
          "build again in a few minutes; or let the instance go to another zone (a subnet_filter matching subnets in several zones, or no subnet_id or availability_zone: Kiln then tries each zone in turn); or list several instance types to try in turn (instance_types, or spot_instance_types for a spot build)"
      )
    case "Unsupported":
      return Self.advice(
        happened:
          "EC2 does not offer what the request asks for where it asks for it: most often the instance type is not offered in the chosen Availability Zone (AWS's message names the zones that have it), or it does not go with another setting (the AMI's architecture, tenancy, an option of the type)",
        toDo:
          "launch in a zone that offers the type (subnet_id, subnet_filter or availability_zone; `aws ec2 describe-instance-type-offerings --location-type availability-zone --filters Name=instance-type,Values=TYPE --region \(regionHint)` lists them), or choose another instance_type"
      )
    case "InvalidAMIID.NotFound":
      return Self.advice(
        happened:
          "EC2 does not know this AMI here. If it was created moments ago (by this build, or just before it), this is EC2's eventual consistency: a new AMI can take a few seconds to be visible to every call, and Kiln's own waits treat that as \"not visible yet\". Otherwise the id does not exist in this region (AMIs are regional: an id from another region is not found here), was deregistered, or is not shared with this account",
        toDo:
          "for a just-created AMI, run the call (or the build) again in a few seconds; otherwise check the id against the region (`aws ec2 describe-images --image-ids ID --region \(regionHint)`) and that its owner shares it with this account"
      )
    case "RequestExpired", "RequestTimeTooSkewed":
      return clockAdvice()
    case "SignatureDoesNotMatch", "AuthFailure", "InvalidSignatureException":
      // A signature refused for its time: say so only when the clocks really differ.
      guard let skew = clockSkew, abs(skew) >= 300 else { return nil }
      return clockAdvice()
    default:
      return nil
    }
  }

  /// The region in the advice's example commands.
  private var regionHint: String { region.isEmpty ? "REGION" : region }

  private static func advice(happened: String, toDo: String) -> String {
    "  What happened: \(happened).\n  What to do: \(toDo)."
  }

  private func authorizationAdvice(_ call: String) -> String {
    switch authorization {
    case .decoded(let decoded):
      return decoded.advice
    case .notPermitted(let why):
      return Self.advice(
        happened:
          "AWS refused \(call) for the identity Kiln signs with, and encoded the reason; Kiln could not decode it, because that identity may not call sts:DecodeAuthorizationMessage (\(why))",
        toDo:
          "allow sts:DecodeAuthorizationMessage to this identity, and Kiln will show which policy refused what; or have someone who may run `aws sts decode-authorization-message --encoded-message MESSAGE` with the encoded message above. The permission missing is most likely \(call)"
      )
    case .failed(let why):
      return Self.advice(
        happened: "AWS refused \(call) for the identity Kiln signs with, and encoded the reason; decoding it with STS failed (\(why))",
        toDo:
          "run `aws sts decode-authorization-message --encoded-message MESSAGE` with the encoded message above to see which policy refused what. The permission missing is most likely \(call)"
      )
    case nil:
      if encodedAuthorizationMessage != nil {
        return Self.advice(
          happened: "AWS refused \(call) for the identity Kiln signs with, and encoded the reason",
          toDo:
            "run `aws sts decode-authorization-message --encoded-message MESSAGE` with the encoded message above (it needs sts:DecodeAuthorizationMessage) to see which policy refused what. The permission missing is most likely \(call)"
        )
      }
      if service == "sts", action.hasPrefix("AssumeRole") {
        return Self.advice(
          happened:
            "the role was not assumed: either the identity Kiln signs with may not call \(call) on it, or the role's trust policy does not trust that identity (or the external id, session tags or source identity it was given)",
          toDo:
            "allow \(call) on the role in a policy of the calling identity, and check the role's trust policy names it (`aws iam get-role --role-name NAME` shows the trust policy)"
        )
      }
      return Self.advice(
        happened: "the identity Kiln signs with may not call \(call)",
        toDo: "allow \(call) in a policy of that identity (`aws sts get-caller-identity` names it), or use credentials that may")
    }
  }

  private func clockAdvice() -> String {
    guard let skew = clockSkew else {
      return Self.advice(
        happened:
          "AWS refused the request as too old: a signed request is good for 5 minutes from the time in its signature. The answer had no Date header, so Kiln cannot tell how far this host's clock is off",
        toDo:
          "check this host's clock against a time server (`date -u`; enable NTP with `timedatectl set-ntp true` or `chronyc makestep`), then build again"
      )
    }
    let amount = Self.duration(abs(skew))
    if abs(skew) < 60 {
      return Self.advice(
        happened:
          "AWS refused the request as too old (a signed request is good for 5 minutes), though this host's clock agrees with AWS's within \(amount): the request itself took that long to arrive",
        toDo: "look for what held it (a slow proxy, a paused machine), then build again")
    }
    let direction = skew > 0 ? "behind" : "ahead of"
    return Self.advice(
      happened:
        "AWS refused the request as signed at the wrong time: this host's clock is \(amount) \(direction) AWS's (from the answer's Date header), and a signature is good for 5 minutes either way",
      toDo:
        "set this host's clock right (enable NTP: `timedatectl set-ntp true`, or `chronyc makestep`; in a container or VM, the host's clock), then build again"
    )
  }

  /// "1h 0m 5s", "4m 2s", "12s".
  static func duration(_ seconds: Double) -> String {
    let total = Int(seconds.rounded())
    let (hours, minutes, secs) = (total / 3600, total % 3600 / 60, total % 60)
    if hours > 0 { return "\(hours)h \(minutes)m \(secs)s" }
    if minutes > 0 { return "\(minutes)m \(secs)s" }
    return "\(secs)s"
  }
}

/// The document STS DecodeAuthorizationMessage returns (`DecodedMessage`, JSON): whether the
/// request was allowed, whether an explicit Deny refused it, the policy statements that
/// matched, and the request's context: principal, action, resource and condition values.
public struct DecodedAuthorizationMessage: Sendable, Equatable {
  public var allowed: Bool
  public var explicitDeny: Bool
  /// The principal's ARN (else its name or id).
  public var principal: String
  public var action: String
  public var resource: String
  /// The request's condition keys and values, `key=value` (values joined by `|`), in order.
  public var conditions: [String]
  /// Each matched statement, summarised: "Deny ec2:RunInstances on * (statement DenyBig) when
  /// ec2:InstanceType is m5.large".
  public var matchedStatements: [String]

  /// Reads the decoded JSON; nil when it is not the documented document.
  public init?(json: String) {
    guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
      let context = object["context"] as? [String: Any]
    else { return nil }
    allowed = object["allowed"] as? Bool ?? false
    explicitDeny = object["explicitDeny"] as? Bool ?? false
    let principal = context["principal"] as? [String: Any] ?? [:]
    self.principal = (principal["arn"] as? String) ?? (principal["name"] as? String) ?? (principal["id"] as? String) ?? "this identity"
    action = context["action"] as? String ?? "?"
    resource = context["resource"] as? String ?? "?"
    conditions = Self.conditions(context["conditions"]).map { "\($0.key)=\($0.values.joined(separator: "|"))" }
    matchedStatements = Self.items(object["matchedStatements"]).map(Self.statement)
  }

  /// `{"items": [...]}` as the document writes its lists.
  static func items(_ value: Any?) -> [[String: Any]] {
    ((value as? [String: Any])?["items"] as? [[String: Any]]) ?? []
  }

  static func values(_ value: Any?) -> [String] {
    items(value).compactMap { $0["value"] as? String }
  }

  static func conditions(_ value: Any?) -> [(key: String, values: [String])] {
    items(value).map { ($0["key"] as? String ?? "?", values($0["values"])) }
  }

  static func statement(_ item: [String: Any]) -> String {
    let effect = (item["effect"] as? String ?? "").capitalized
    let actions = values(item["actions"])
    let resources = values(item["resources"])
    var text =
      "\(effect.isEmpty ? "?" : effect) \(actions.isEmpty ? "?" : actions.joined(separator: ", ")) on \(resources.isEmpty ? "?" : resources.joined(separator: ", "))"
    if let id = item["statementId"] as? String, !id.isEmpty { text += " (statement \(id))" }
    let conditions = Self.conditions(item["conditions"])
    if !conditions.isEmpty {
      text += " when " + conditions.map { "\($0.key) is \($0.values.joined(separator: " or "))" }.joined(separator: " and ")
    }
    return text
  }

  /// At most this many condition values are shown (a RunInstances context has dozens).
  static let shownConditions = 12

  /// What happened (who may not do what, and why) and what to do, as `AWSServiceError.advice`
  /// says it.
  public var advice: String {
    var happened = "STS decoded the refusal: \(principal) may not \(action) on \(resource)"
    happened += explicitDeny ? ": an explicit Deny matched" : ": no policy statement allows it"
    if !matchedStatements.isEmpty { happened += "; matched: " + matchedStatements.joined(separator: "; ") }
    if !conditions.isEmpty {
      let shown = conditions.prefix(Self.shownConditions).joined(separator: ", ")
      let more = conditions.count > Self.shownConditions ? " and \(conditions.count - Self.shownConditions) more" : ""
      happened += ". The request's context: \(shown)\(more)"
    }
    let toDo =
      explicitDeny
      ? "an explicit Deny wins over every Allow: narrow or remove that statement (in the identity's policies, a permissions boundary, or an organization SCP), or change the template so the request falls outside it"
      : "add a statement allowing \(action) on \(resource) to a policy of \(principal)"
    return "  What happened: \(happened).\n  What to do: \(toDo)."
  }
}
