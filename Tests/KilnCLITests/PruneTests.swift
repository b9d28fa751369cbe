import Foundation
import KilnAWS
import KilnBuilders
import Testing
import _KilnTestSupport

/// `ImagePruning`'s plan, table by table, with dates of the test's own.
@Suite struct ImagePruningPlanTests {
  static let day: TimeInterval = 86_400
  static let now = Date(timeIntervalSince1970: 1_800_000_000)

  static func image(_ id: String, ageDays: Double, launchedDaysAgo: Double? = nil, deprecation: Date? = nil) -> EC2Image {
    var image = EC2Image(
      imageID: id, name: "eks-\(id)", state: "available", ownerID: "123456789012",
      creationDate: now.addingTimeInterval(-ageDays * day).formatted(.iso8601),
      blockDevices: [EC2BlockDevice(deviceName: "/dev/xvda", snapshotID: "snap-\(id)")])
    image.lastLaunchedTime = launchedDaysAgo.map { now.addingTimeInterval(-$0 * day).formatted(.iso8601) }
    image.deprecationTime = deprecation?.formatted(.iso8601)
    return image
  }

  func plan(_ images: [EC2Image], _ policy: ImagePruning.Policy) -> [String: ImagePruning.Action] {
    let decisions = ImagePruning(template: "t.json", build: "b", policy: policy).plan(region: "r", images: images, now: Self.now)
    return Dictionary(uniqueKeysWithValues: decisions.map { ($0.image.imageID, $0.action) })
  }

  @Test func keepsTheNewestAndDeletesWhatWasSupersededLongEnoughAgo() {
    // Created 40, 30, 20 and 1 day(s) ago: with keep 2, the 30-day one was superseded 1 day ago
    // (by the 1-day one), the 40-day one 20 days ago (by the 20-day one).
    let images = [Self.image("a", ageDays: 40), Self.image("b", ageDays: 30), Self.image("c", ageDays: 20), Self.image("d", ageDays: 1)]
    let actions = plan(images.shuffled(), .init(keep: 2, deleteAfter: 7 * Self.day))
    #expect(actions["d"] == .keep && actions["c"] == .keep)
    #expect(actions["a"] == .delete(snapshots: ["snap-a"]))
    #expect(actions["b"] == .wait(deprecateAt: nil, deleteAt: Self.now.addingTimeInterval(6 * Self.day)))
  }

  @Test func anImageLaunchedWithinTheGracePeriodIsSpared() {
    let images = [
      Self.image("old", ageDays: 60, launchedDaysAgo: 2), Self.image("older", ageDays: 90, launchedDaysAgo: 45), Self.image("new", ageDays: 30),
    ]
    let actions = plan(images, .init(keep: 1, deleteAfter: 7 * Self.day))
    #expect(actions["old"] == .spare(launched: Self.now.addingTimeInterval(-2 * Self.day)))
    #expect(actions["older"] == .delete(snapshots: ["snap-older"]))
  }

  @Test func deprecationIsSetOnceAndNeverInThePast() {
    let superseded = Self.image("x", ageDays: 10)
    let recent = Self.image("y", ageDays: 3)
    let newest = Self.image("z", ageDays: 1)
    let actions = plan([superseded, recent, newest], .init(keep: 1, deprecateAfter: 4 * Self.day))
    // y was superseded 1 day ago: deprecated 3 days from now; x 3 days ago: 1 day from now.
    #expect(actions["y"] == .deprecate(at: Self.now.addingTimeInterval(3 * Self.day)))
    #expect(actions["x"] == .deprecate(at: Self.now.addingTimeInterval(1 * Self.day)))
    // Due long ago: a minute from now (EC2 takes no time in the past).
    let actionsLate = plan([Self.image("p", ageDays: 100), Self.image("q", ageDays: 50)], .init(keep: 1, deprecateAfter: Self.day))
    #expect(actionsLate["p"] == .deprecate(at: Self.now.addingTimeInterval(60)))
    // Already set earlier than wanted: left alone.
    let earlier = Self.now.addingTimeInterval(Self.day)
    let kept = plan([Self.image("s", ageDays: 10, deprecation: earlier), Self.image("t", ageDays: 1)], .init(keep: 1, deprecateAfter: 30 * Self.day))
    #expect(kept["s"] == .wait(deprecateAt: earlier, deleteAt: nil))
  }
}

/// `kiln prune` against moto: only this template's finished AMIs, in the build region and
/// the copy region, with their snapshots; a dry run changes nothing.
@Suite struct PruneCommandTests {
  /// An AMI (and its copy in us-west-2) tagged as a finished Kiln build of `template`/`build`
  /// would tag it, or as `tags` say.
  static func makeImage(_ lab: EC2Lab, name: String, tags: [EC2Tag]) async throws -> (east: EC2Image, west: EC2Image) {
    let east = try lab.client()
    let instance = try #require(try await east.runInstances(EC2Client.RunInstancesRequest(imageID: "ami-785db401", instanceType: "t3.micro")).first)
    var create = EC2Client.CreateImageRequest(instanceID: instance.instanceID, name: name)
    create.tagSpecifications = [("image", tags), ("snapshot", tags)]
    let imageID = try await east.createImage(create)
    try await east.terminateInstances([instance.instanceID])
    let copyID = try await lab.client("us-west-2").copyImage(
      sourceImageID: imageID, sourceRegion: "us-east-1", name: name, imageTags: tags, snapshotTags: tags)
    let image = try #require(try await east.describeImages(imageIDs: [imageID]).first)
    let copy = try #require(try await lab.client("us-west-2").describeImages(imageIDs: [copyID]).first)
    // moto dates images to the second: the next one must be newer.
    try await Task.sleep(for: .milliseconds(1100))
    return (image, copy)
  }

  static func kilnTags(template: String = "template.json", build: String = "eks", complete: Bool = true) -> [EC2Tag] {
    [EC2Tag("kiln:run", UUID().uuidString.lowercased()), EC2Tag("kiln:template", template), EC2Tag("kiln:build", build)]
      + (complete ? [EC2Tag("kiln:state", "complete")] : [])
  }

  @Test func deletesTheOlderAMIsAndTheirSnapshotsInEveryRegionAndNothingElse() async throws {
    let lab = try await EC2Lab()
    let path = try lab.template(extra: #""ami_regions": ["us-west-2"]"#)
    let oldest = try await Self.makeImage(lab, name: "eks-1", tags: Self.kilnTags())
    let older = try await Self.makeImage(lab, name: "eks-2", tags: Self.kilnTags())
    let newest = try await Self.makeImage(lab, name: "eks-3", tags: Self.kilnTags())
    let foreign = try await Self.makeImage(lab, name: "eks-handmade", tags: [EC2Tag("Name", "eks")])
    let otherTemplate = try await Self.makeImage(lab, name: "other-1", tags: Self.kilnTags(template: "other.json"))
    let unfinished = try await Self.makeImage(lab, name: "eks-killed", tags: Self.kilnTags(complete: false))
    let untouched = [newest, foreign, otherTemplate, unfinished]

    let dry = try await KilnProcess.run(["prune", "-keep", "1", "-delete-after", "0s", path], in: lab.work, environment: lab.environment)
    #expect(dry.status == 0, "\(dry.stdout)\(dry.stderr)")
    #expect(dry.stdout.contains("eks: us-east-1 \(oldest.east.imageID) eks-1"))
    #expect(dry.stdout.contains("Dry run: nothing was changed"))
    #expect(try await lab.client().describeImages(owners: ["self"]).count == 6, "a dry run deregisters nothing")

    let run = try await KilnProcess.run(
      ["prune", "-keep", "1", "-delete-after", "0s", "-dry-run=false", path], in: lab.work, environment: lab.environment)
    #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
    for (region, pick) in [("us-east-1", { (pair: (east: EC2Image, west: EC2Image)) in pair.east }), ("us-west-2", { $0.west })] {
      let client = try lab.client(region)
      let left = Set(try await client.describeImages(owners: ["self"]).map(\.imageID))
      #expect(left == Set(untouched.map { pick($0).imageID }), "\(region): \(run.stdout)")
      let snapshots = Set(try await client.describeSnapshots(owners: ["self"]).map(\.snapshotID))
      for gone in [oldest, older] {
        #expect(snapshots.isDisjoint(with: pick(gone).blockDevices.compactMap(\.snapshotID)), "\(region): the snapshots go with the AMI")
      }
      for kept in untouched {
        #expect(snapshots.isSuperset(of: pick(kept).blockDevices.compactMap(\.snapshotID)), "\(region): \(pick(kept).name)'s snapshots stay")
      }
    }
  }

  /// AMIs of several ages against moto, one launched from recently: with a 120 s grace, the
  /// oldest (superseded long enough ago) goes, the one an instance was just launched from is
  /// spared, the newest stays; in both regions (the copy was not launched from).
  ///
  /// moto dates everything now, so the test waits out the grace once. The grace is the room
  /// the test has between the launch and prune's plan: a whole suite on two cores has taken
  /// more than 30 s there, so it is two minutes.
  @Test func anAMILaunchedWithinTheGraceIsSpared() async throws {
    let lab = try await EC2Lab()
    let path = try lab.template(extra: #""ami_regions": ["us-west-2"]"#)
    let oldest = try await Self.makeImage(lab, name: "eks-1", tags: Self.kilnTags())
    let used = try await Self.makeImage(lab, name: "eks-2", tags: Self.kilnTags())
    let newest = try await Self.makeImage(lab, name: "eks-3", tags: Self.kilnTags())
    // Everything older than eks-3 has been superseded for more than the grace.
    try await Task.sleep(for: .seconds(121))
    let instance = try #require(
      try await lab.client().runInstances(EC2Client.RunInstancesRequest(imageID: used.east.imageID, instanceType: "t3.micro")).first)
    let run = try await KilnProcess.run(
      ["prune", "-keep", "1", "-delete-after", "120s", "-dry-run=false", path], in: lab.work, environment: lab.environment)
    try await lab.client().terminateInstances([instance.instanceID])
    #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
    #expect(
      run.stdout.contains("us-east-1 \(used.east.imageID) eks-2 (created \(used.east.creationDate)): spare: an instance was launched from it at "),
      "\(run.stdout)")
    let east = Set(try await lab.client().describeImages(owners: ["self"]).map(\.imageID))
    #expect(east == [used.east.imageID, newest.east.imageID], "\(run.stdout)")
    let west = Set(try await lab.client("us-west-2").describeImages(owners: ["self"]).map(\.imageID))
    #expect(west == [newest.west.imageID], "in us-west-2 nothing was launched from the copy: \(run.stdout)")
    #expect(!east.contains(oldest.east.imageID) && !west.contains(oldest.west.imageID))
  }

  @Test func deprecatesTheOlderAMIsOnceAndLaterRunsWait() async throws {
    let lab = try await EC2Lab()
    let path = try lab.template()
    let older = try await Self.makeImage(lab, name: "eks-1", tags: Self.kilnTags())
    _ = try await Self.makeImage(lab, name: "eks-2", tags: Self.kilnTags())
    let first = try await KilnProcess.run(
      ["prune", "-keep", "1", "-deprecate-after", "720h", "-dry-run=false", path], in: lab.work, environment: lab.environment)
    #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
    #expect(first.stdout.contains("\(older.east.imageID) eks-1 (created \(older.east.creationDate)): deprecate at "))
    let deprecated = try #require(try await lab.client().describeImages(imageIDs: [older.east.imageID]).first?.deprecationTime)
    let at = try Date(deprecated, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    #expect(abs(at.timeIntervalSinceNow - 30 * 86_400) < 3_600, "about 30 days from now: \(deprecated)")
    let second = try await KilnProcess.run(
      ["prune", "-keep", "1", "-deprecate-after", "720h", "-dry-run=false", path], in: lab.work, environment: lab.environment)
    #expect(second.stdout.contains("\(older.east.imageID) eks-1 (created \(older.east.creationDate)): wait (superseded "), "\(second.stdout)")
    #expect(!lab.moto.requests("EnableImageDeprecation").isEmpty && lab.moto.requests("EnableImageDeprecation").count == 1, "set once")
  }

  @Test(arguments: [["-keep", "0"], ["-keep", "1", "-delete-after", "soon"]])
  func badFlagsAreUsageErrors(flags: [String]) async throws {
    let result = try await KilnProcess.run(["prune"] + flags + ["t.json"])
    #expect(result.status == 1)
    #expect(result.stderr.contains("-keep must be at least 1") || result.stderr.contains("-delete-after must be a duration"))
  }
}
