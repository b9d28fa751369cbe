import KilnAWS

extension AmazonEBSConfig.BlockDevice {
  /// The mapping as EC2 takes it, for RunInstances (`launch_block_device_mappings`) and
  /// CreateImage (`ami_block_device_mappings`).
  var input: BlockDeviceMappingInput {
    var device = BlockDeviceMappingInput(deviceName: deviceName)
    device.noDevice = noDevice
    device.virtualName = virtualName.isEmpty ? nil : virtualName
    device.snapshotID = snapshotID.isEmpty ? nil : snapshotID
    device.volumeSize = volumeSize
    device.volumeType = volumeType.isEmpty ? nil : volumeType
    device.iops = iops
    device.throughput = throughput
    device.deleteOnTermination = deleteOnTermination
    device.encrypted = encrypted
    device.kmsKeyID = kmsKeyID.isEmpty ? nil : kmsKeyID
    return device
  }
}
