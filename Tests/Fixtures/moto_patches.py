"""Where moto 5.2.1 lags AWS, the behaviour AWS documents, so Kiln's tests can check it.

`moto_server.py` calls `apply()` before it serves. Each patch is small, wraps moto's own code
(or restates a handler that drops a parameter; it never replaces a model), and cites the page
of the Amazon EC2 API Reference it follows. The
product is never bent to moto's gaps: what AWS accepts and does, the emulator learns here.

- CreateImage: tags the snapshots it makes with the `snapshot` TagSpecification (moto raises
  NotImplementedError for it).
- CopyImage: applies its TagSpecifications to the new image and its new snapshot (moto reads
  none of them).
- RunInstances: applies the `network-interface` TagSpecification to the interfaces the launch
  creates, and makes the Spot Instance request a one-time spot launch (InstanceMarketOptions)
  makes, tagged with the `spot-instances-request` TagSpecification (moto makes no request and
  drops both); and keeps ClientToken's promise (moto stores the token and never checks it): a
  second RunInstances with the same token and parameters launches nothing and answers the first
  call's reservation, one with other parameters is refused `IdempotentParameterMismatch`.
- EnableImageDeprecation, EnableImageDeregistrationProtection (absent from moto): recorded on
  the image and shown by DescribeImages (`deprecationTime`, `deregistrationProtection`); a
  protected image cannot be deregistered.
- RunInstances records the image's `lastLaunchedTime` (moto never sets it; AWS reports it
  within 24 hours, here at once).
- CreateImage: the image's snapshot is of the instance's root volume, its `VolumeId` that
  volume's id (moto snapshots a new 15 GiB volume it makes and deletes).
- CreateImage: refuses a name the account already uses in the region, `InvalidAMIName.Duplicate`
  (moto makes a second image of the same name).
- CopyImage: keeps ClientToken's promise, as RunInstances above (moto reads no token).
- STS DecodeAuthorizationMessage (absent from moto).
- RegisterImage: keeps the image's RootDeviceName, VirtualizationType and Architecture, and
  makes an image whose root device is mapped to an EBS volume EBS-backed (moto drops all of
  them and describes every registered image as `standard`, `/dev/sda1`, no virtualization).
"""
import functools


def _tags(specifications, resource_type):
    """The tags of one resource type from TagSpecifications as moto's `_get_param` reads them:
    [{"ResourceType": ..., "Tags": [{"Key": ..., "Value": ...}]}]."""
    return {tag["Key"]: tag["Value"] for spec in specifications if spec.get("ResourceType") == resource_type for tag in spec.get("Tags", [])}


def _create_image_tags_snapshots():
    # https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateImage.html
    # TagSpecification.N: "To tag the snapshots that are created of the
    # root volume and of other Amazon EBS volumes that are attached to the instance, the value
    # for ResourceType must be snapshot. The same tag is applied to all of the snapshots that
    # are created."
    from moto.ec2.models.amis import AmiBackend

    original = AmiBackend.create_image

    @functools.wraps(original)
    def create_image(self, instance_id, name, description, tag_specifications):
        others = [s for s in tag_specifications if s.get("ResourceType") != "snapshot"]
        ami = original(self, instance_id, name, description, tag_specifications=others)
        ami.ebs_snapshot.add_tags(_tags(tag_specifications, "snapshot"))
        return ami

    AmiBackend.create_image = create_image


def _create_image_snapshots_the_instance_volume():
    # https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateImage.html: "Creates an
    # Amazon EBS-backed AMI from an Amazon EBS-backed instance"; TagSpecification.N speaks of
    # "the snapshots that are created of the root volume and of other Amazon EBS volumes that are
    # attached to the instance". API_Snapshot.html: VolumeId, "The ID of the volume that was used
    # to create the snapshot". moto models one snapshot per image: it becomes the root volume's.
    from moto.ec2.models.amis import AmiBackend

    original = AmiBackend.create_image

    @functools.wraps(original)
    def create_image(self, instance_id, name, description, tag_specifications):
        ami = original(self, instance_id, name, description, tag_specifications)
        instance = self.get_instance(instance_id)
        mappings = instance.block_device_mapping
        root = mappings.get(instance.root_device_name) or next(iter(mappings.values()), None)
        if root is not None:
            ami.ebs_snapshot.volume = self.get_volume(root.volume_id)
        return ami

    AmiBackend.create_image = create_image


def _copy_image_tags_image_and_snapshots():
    # https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CopyImage.html
    # TagSpecification.N: "The tags to apply to the new AMI and new
    # snapshots. You can tag the AMI, the snapshots, or both. To tag the new AMI, the value for
    # ResourceType must be image. To tag the new snapshots, the value for ResourceType must be
    # snapshot. The same tag is applied to all the new snapshots. If you specify other values
    # for ResourceType, the request fails."
    from moto.ec2.exceptions import InvalidTaggableResourceType
    from moto.ec2.models.amis import AmiBackend
    from moto.ec2.responses.amis import AmisResponse

    original = AmiBackend.copy_image

    @functools.wraps(original)
    def copy_image(self, source_image_id, source_region, name=None, description=None, tag_specifications=()):
        for spec in tag_specifications:
            if spec.get("ResourceType") not in ("image", "snapshot"):
                raise InvalidTaggableResourceType(spec.get("ResourceType"))
        ami = original(self, source_image_id, source_region, name, description)
        ami.add_tags(_tags(tag_specifications, "image"))
        ami.ebs_snapshot.add_tags(_tags(tag_specifications, "snapshot"))
        return ami

    AmiBackend.copy_image = copy_image

    def copy_image_response(self):
        # moto's own handler, passing the TagSpecifications on.
        from moto.core.responses import ActionResult

        self.error_on_dryrun()
        image = self.ec2_backend.copy_image(
            self._get_param("SourceImageId"), self._get_param("SourceRegion"), self._get_param("Name"),
            self._get_param("Description"), tag_specifications=self._get_param("TagSpecifications", []))
        return ActionResult({"ImageId": image.id})

    AmisResponse.copy_image = copy_image_response


def _run_instances_tags_interfaces_and_spot_requests():
    # https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_RunInstances.html
    # TagSpecification.N: "The tags to apply to the resources that are
    # created during instance launch. You can specify tags for the following resources only:
    # Instances, Volumes, Spot Instance requests, Network interfaces." and InstanceMarketOptions:
    # a `spot` market launch is a Spot Instance request (one-time here), which
    # DescribeSpotInstanceRequests lists with the instance it launched.
    from moto.ec2.models.instances import InstanceBackend
    from moto.ec2.models.spot_requests import SpotInstanceRequest
    from moto.ec2.utils import random_spot_request_id

    class LaunchedSpotRequest(SpotInstanceRequest):
        """The request a RunInstances spot launch makes: fulfilled by that launch's instance
        (moto's own SpotInstanceRequest launches one of its own)."""

        __module__ = "moto.ec2.models.spot_requests"  # moto files its model classes by module

        def __init__(self, instance, **kwargs):
            self._launched = instance
            super().__init__(**kwargs)

        def launch_instance(self):
            return self._launched

    original = InstanceBackend.run_instances

    @functools.wraps(original)
    def run_instances(self, image_id, count, user_data, security_group_names, **kwargs):
        tags = dict(kwargs.get("tags") or {})
        market = kwargs.get("instance_market_options")
        reservation = original(self, image_id, count, user_data, security_group_names, **kwargs)
        for instance in reservation.instances:
            for nic in getattr(instance, "nics", {}).values():
                nic.add_tags(tags.get("network-interface", {}))
            if market == "spot":
                request = LaunchedSpotRequest(
                    instance, ec2_backend=self, spot_request_id=random_spot_request_id(), price=None, image_id=image_id,
                    spot_instance_type="one-time", valid_from=None, valid_until=None, launch_group=None,
                    availability_zone_group=None, key_name=kwargs.get("key_name"), security_groups=[],
                    user_data=user_data, instance_type=kwargs.get("instance_type"), placement=kwargs.get("placement"),
                    kernel_id=None, ramdisk_id=None, monitoring_enabled=False, subnet_id=kwargs.get("subnet_id"),
                    tags={"spot-instances-request": tags.get("spot-instances-request", {})}, spot_fleet_id=None,
                    instance_interruption_behaviour="terminate")
                self.spot_instance_requests[request.id] = request
                instance.spot_instance_request_id = request.id
        return reservation

    InstanceBackend.run_instances = run_instances


def _keep_client_token_promise(response_class, handler):
    """Wraps `response_class.handler` so its ClientToken means what AWS documents
    (https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html): a retry with the
    same token and parameters returns the first call's answer and does nothing again; the same
    token with other parameters fails with IdempotentParameterMismatch."""
    from moto.core.responses import ActionResult
    from moto.ec2.exceptions import EC2ClientError

    respond = getattr(response_class, handler)
    seen = {}  # (account, region, token) -> (the other parameters, the first answer)

    @functools.wraps(respond)
    def idempotent(self):
        token = self._get_param("ClientToken")
        if not token:
            return respond(self)
        parameters = sorted((k, v) for k, v in self.querystring.items() if k not in ("ClientToken", "Action", "Version"))
        key = (self.current_account, self.region, token)
        if key in seen:
            first, answer = seen[key]
            if first != parameters:
                raise EC2ClientError("IdempotentParameterMismatch", "Client token already used before with different parameters.")
            # An ActionResult is serialised once: answer again with a fresh one.
            return ActionResult(answer.result) if isinstance(answer, ActionResult) else answer
        answer = respond(self)
        seen[key] = (parameters, answer)
        return answer

    setattr(response_class, handler, idempotent)


def _run_instances_client_token():
    # https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_RunInstances.html
    # ClientToken: "Unique, case-sensitive identifier you provide to
    # ensure the idempotency of the request."
    from moto.ec2.responses.instances import InstanceResponse

    _keep_client_token_promise(InstanceResponse, "run_instances")


def _image_deprecation_and_deregistration_protection():
    # https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_EnableImageDeprecation.html
    # "Enables deprecation of the specified AMI at the
    # specified date and time." (DeprecateAt: "the time ... is rounded up to the nearest
    # minute");
    # https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_EnableImageDeregistrationProtection.html
    # "Enables deregistration protection for an AMI. When deregistration protection is enabled,
    # the AMI can't be deregistered." (The refusal's error code is not documented: here
    # InvalidParameterValue.)
    # DescribeImages shows both (deprecationTime, deregistrationProtection:
    # https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Image.html).
    import datetime

    from moto.core.responses import ActionResult
    from moto.ec2.exceptions import EC2ClientError
    from moto.ec2.models.amis import AmiBackend
    from moto.ec2.responses.amis import AmisResponse

    def enable_image_deprecation(self):
        image = self.ec2_backend.describe_images(ami_ids=[self._get_param("ImageId")])[0]
        at = self._get_param("DeprecateAt")  # moto parses it by the model: a datetime
        if isinstance(at, str):
            at = datetime.datetime.fromisoformat(at.replace("Z", "+00:00"))
        if at.second or at.microsecond:
            at = at.replace(second=0, microsecond=0) + datetime.timedelta(minutes=1)
        self.error_on_dryrun()
        image.deprecation_time = at.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        return ActionResult({"Return": True})

    def enable_image_deregistration_protection(self):
        image = self.ec2_backend.describe_images(ami_ids=[self._get_param("ImageId")])[0]
        self.error_on_dryrun()
        with_cooldown = self._get_param("WithCooldown") in (True, "true")
        image.deregistration_protection = "enabled-with-cooldown" if with_cooldown else "enabled-without-cooldown"
        return ActionResult({"Return": "true"})

    AmisResponse.enable_image_deprecation = enable_image_deprecation
    AmisResponse.enable_image_deregistration_protection = enable_image_deregistration_protection

    original = AmiBackend.deregister_image

    @functools.wraps(original)
    def deregister_image(self, ami_id):
        image = self.amis.get(ami_id)
        if image is not None and getattr(image, "deregistration_protection", "disabled").startswith("enabled"):
            raise EC2ClientError("InvalidParameterValue", f"The AMI {ami_id} has deregistration protection enabled.")
        return original(self, ami_id)

    AmiBackend.deregister_image = deregister_image


def _image_last_launched_time():
    # https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Image.html
    # LastLaunchedTime: "The date and time, in ISO 8601 date-time format, when the AMI was
    # last used to launch an EC2 instance. When the AMI is used to launch an instance, there is
    # a 24-hour delay before that usage is reported." (Here at once: a test cannot wait a day.)
    # moto never sets it.
    import datetime

    from moto.ec2.models.instances import InstanceBackend

    original = InstanceBackend.run_instances

    @functools.wraps(original)
    def run_instances(self, image_id, *args, **kwargs):
        reservation = original(self, image_id, *args, **kwargs)
        image = self.amis.get(image_id)
        if image is not None:
            image.last_launched_time = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return reservation

    InstanceBackend.run_instances = run_instances


def _create_image_refuses_a_taken_name():
    # https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
    # InvalidAMIName.Duplicate: "The specified AMI name is already in use by another AMI. If you
    # have recently deregistered an AMI with the same name, allow enough time for the change to
    # propagate through the system, and then retry your request." (AWS's message: "AMI name N is
    # already in use by AMI ami-…".) A CreateImage whose answer was lost and that is sent again
    # meets exactly this: it is how a retry finds out that the first attempt made the image.
    from moto.ec2.exceptions import EC2ClientError
    from moto.ec2.models.amis import AmiBackend

    original = AmiBackend.create_image

    @functools.wraps(original)
    def create_image(self, instance_id, name, description, tag_specifications):
        for ami in list(self.amis.values()):
            if ami.name == name and ami.owner_id == self.account_id:
                raise EC2ClientError("InvalidAMIName.Duplicate", f"AMI name {name} is already in use by AMI {ami.id}")
        return original(self, instance_id, name, description, tag_specifications)

    AmiBackend.create_image = create_image


def _copy_image_client_token():
    # https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CopyImage.html
    # ClientToken: "Unique, case-sensitive identifier you provide to ensure idempotency of the
    # request." (Wraps the handler _copy_image_tags_image_and_snapshots set.)
    from moto.ec2.responses.amis import AmisResponse

    _keep_client_token_promise(AmisResponse, "copy_image")


def _sts_decode_authorization_message():
    # https://docs.aws.amazon.com/STS/latest/APIReference/API_DecodeAuthorizationMessage.html
    # "Decodes additional information about the authorization status of a request from an
    # encoded message returned in response to an Amazon Web Services request." Request:
    # EncodedMessage; response: DecodeAuthorizationMessageResult/DecodedMessage, "The API
    # returns a response with the decoded message." Error: InvalidAuthorizationMessageException
    # (HTTP 400), "if the message passed to DecodeAuthorizationMessage was invalid". The caller
    # needs sts:DecodeAuthorizationMessage (moto's IAM checks it like any action).
    #
    # AWS's encoding is opaque and moto issues no encoded messages; the tests that make one
    # encode the documented JSON document in base64, and that is what is decoded here.
    # Anything else is refused as AWS refuses a message it did not make.
    import base64
    import binascii
    import json

    from moto.core.responses import ActionResult
    from moto.sts.exceptions import STSClientError
    from moto.sts.responses import TokenResponse

    def decode_authorization_message(self):
        encoded = self._get_param("EncodedMessage") or ""
        try:
            decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
            json.loads(decoded)
        except (binascii.Error, ValueError):
            raise STSClientError("InvalidAuthorizationMessageException", "The message is not a valid encoded authorization message.") from None
        return ActionResult({"DecodedMessage": decoded})

    TokenResponse.decode_authorization_message = decode_authorization_message


def _register_image_keeps_its_parameters():
    # https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_RegisterImage.html
    # RootDeviceName: "The device name of the root device volume (for example, /dev/sda1)."
    # VirtualizationType: "The type of virtualization (hvm | paravirtual). Default: paravirtual"
    # Architecture: "The architecture of the AMI. Default: For Amazon EBS-backed AMIs, i386."
    # BlockDeviceMapping.N: "If you create an AMI on an Outpost, ... the root volume ... must be
    # EBS"; an image whose root device is an EBS mapping is EBS-backed (API_Image.html,
    # RootDeviceType: "ebs | instance-store"). moto's handler reads only Name and Description.
    from moto.ec2.responses.amis import AmisResponse

    original = AmisResponse.register_image

    @functools.wraps(original)
    def register_image(self):
        result = original(self)
        image = self.ec2_backend.describe_images(ami_ids=[result.result["ImageId"]])[0]
        root = self._get_param("RootDeviceName")
        if root:
            image.root_device_name = root
        image.virtualization_type = self._get_param("VirtualizationType", "paravirtual")
        image.architecture = self._get_param("Architecture", "i386")
        mappings = self._get_param("BlockDeviceMappings", [])
        if any(m.get("DeviceName") == image.root_device_name and m.get("Ebs") is not None for m in mappings):
            image.root_device_type = "ebs"
        return result

    AmisResponse.register_image = register_image


def apply():
    _create_image_tags_snapshots()
    _create_image_snapshots_the_instance_volume()
    _copy_image_tags_image_and_snapshots()
    _run_instances_tags_interfaces_and_spot_requests()
    _run_instances_client_token()
    _image_deprecation_and_deregistration_protection()
    _image_last_launched_time()
    _create_image_refuses_a_taken_name()
    _copy_image_client_token()
    _sts_decode_authorization_message()
    _register_image_keeps_its_parameters()
