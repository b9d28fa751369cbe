import KilnAWS
import KilnCore

/// Mirrors Packer's `StepStopEBSBackedInstance` and `StepModifyEBSBackedInstance`.
///
/// Stops the instance before imaging, unless it is a spot instance (CreateImage reboots it
/// instead) or `disable_stop_instance` is set, in which case a provisioner must stop it and
/// this step waits; then sets `ena_support` / `sriov_support`.
///
/// Creates nothing; no cleanup (the instance is terminated by `StepRunInstance`'s cleanup).
struct StepStopInstance: BuildStep {
  let name = "stop-instance"
  let run: EBSRun

  func run(_ state: BuildState) async throws {
    guard let id = state[BuildInstance.self]?.instanceID else { throw BuildError("no instance") }
    if !run.config.isSpot {
      if run.config.disableStopInstance {
        run.ui.say("Automatic instance stop disabled. Please stop instance manually.")
      } else {
        run.ui.say("Stopping the source instance...")
        var attempt = 0
        while true {
          do {
            try await run.ec2.stopInstances([id])
            break
          } catch let error as AWSServiceError where error.code == "InvalidInstanceID.NotFound" && attempt < 5 {
            attempt += 1
            try await Task.sleep(for: .seconds(10))
          }
        }
      }
      run.ui.say("Waiting for the instance to stop...")
      let ui = run.ui
      state[BuildInstance.self] = try await run.ec2.waitForInstance(
        id, toBe: "stopped", policy: run.waits.instance, progress: { ui.message($0) }, status: { ui.progress($0) })
    }
    if run.config.sriovSupport {
      run.ui.say("Enabling Enhanced Networking (SR-IOV)...")
      try await run.ec2.modifyInstanceAttribute(instanceID: id, sriovNetSupport: "simple")
    }
    if let ena = run.config.enaSupport {
      run.ui.say("\(ena ? "Enabling" : "Disabling") Enhanced Networking (ENA)...")
      try await run.ec2.modifyInstanceAttribute(instanceID: id, enaSupport: ena)
    }
  }
}
