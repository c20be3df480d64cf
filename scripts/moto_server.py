"""moto's server, with the behaviours of AWS that moto 5 lacks and Elbow's tests rely on: ELBv2's
idempotent CreateLoadBalancer, capacity reservations, SetSecurityGroups refused on a network load balancer created without
security groups, WAFv2 associations that are replaced and deleted as on AWS, ELBv2 trust stores with the mutual TLS
of HTTPS listeners, rule conditions by regular expressions, and rule transforms.

AWS documents CreateLoadBalancer as idempotent: a second call with a name already in use and the
same settings (type, scheme, IP address type, subnets, security groups) answers with the existing
load balancer; with other settings it fails with DuplicateLoadBalancerName. moto keys load
balancers by an ARN that holds a random id, so it never finds the first one: every repeated call
creates another load balancer of the same name. A client that retries a create whose answer was
lost (the mutation happened, the connection dropped) would then leave a duplicate on moto that AWS
never creates, which is exactly the case the fault campaigns test.

SetSecurityGroups: AWS documents that a network load balancer created without security groups can
never be given any (InvalidConfigurationRequest); moto sets them all the same.

Capacity reservations: moto answers DescribeCapacityReservation with a fixed state and no
MinimumLoadBalancerCapacity, and has no ModifyCapacityReservation at all. Here a load balancer
keeps the capacity units last reserved, DescribeCapacityReservation reports them, and
ModifyCapacityReservation sets them or, with ResetCapacityReservation, removes them, as AWS
documents both calls.

WAFv2: AWS's AssociateWebACL moves a resource from the web ACL it had to the new one, and a deleted
load balancer takes its association with it. moto appends the resource to the new web ACL's list
and keeps it in the old one's (GetWebACLForResource then answers with the old web ACL), and knows
nothing of load balancer deletions.

ELBv2 trust stores and mutual TLS: moto 5 has no trust store actions and drops a listener's
`MutualAuthentication`. CreateTrustStore, DescribeTrustStores and DeleteTrustStore are added with
AWS's documented answers (a name used twice is DuplicateTrustStoreName, an unknown name or ARN
TrustStoreNotFound; DescribeTrustStores fails as a whole on an unknown name), except that the CA
bundle named in S3 is not read. CreateListener and ModifyListener keep `MutualAuthentication` on
HTTPS listeners (a trust store in verify mode only, and one that exists; left out of a
ModifyListener, the listener keeps its own; a listener turned to HTTP has none) and
DescribeListeners reports it, defaults filled in as AWS reports them.

ModifyTargetGroup: AWS sets a gRPC target group's success codes from `Matcher.GrpcCode`; moto
reads only `Matcher.HttpCode`, so a gRPC group kept the codes it was created with.

Rule conditions: AWS matches a host-header, path-pattern or http-header condition by `Values` or
by `RegexValues` (regular expressions), exactly one of them. moto knows only `Values`: a condition
with `RegexValues` alone fails inside moto with an internal error.

Rule transforms: moto 5 drops the `Transforms` of CreateRule and ModifyRule. Here a rule keeps
them and DescribeRules reports them; AWS's limits are checked (one transform of each type, exactly
one rewrite in each), and ModifyRule with `ResetTransforms` removes them, while a ModifyRule that
names neither leaves them as they were, as AWS documents.

QUIC: moto 5 knows neither the QUIC and TCP_QUIC protocols nor a target's `QuicServerId`, and its
ModifyListener takes no UDP protocol at all. Here target groups and network listeners take QUIC
and TCP_QUIC, and a listener can be modified to UDP, TCP_UDP, QUIC or TCP_QUIC. AWS's documented
rules are kept: a QUIC or TCP_QUIC listener only on a load balancer without security groups that is
not dualstack, at most one, none beside a UDP or TCP_UDP listener, forwarding to a target group of
its own protocol, and its port cannot change; every target of a QUIC or TCP_QUIC group needs a
server id (`0x` and 16 lowercase hex digits, unique in the group, not changed while the target is
registered) and no other target takes one. DescribeTargetHealth reports the id.

Run as `python moto_server.py -H 127.0.0.1 -p PORT`, the arguments of `python -m moto.server`.
"""

import sys

from moto.core.responses import ActionResult, EmptyResult
from moto.elbv2 import models
from moto.elbv2 import responses
from moto.elbv2.exceptions import (
    DuplicateLoadBalancerName,
    InvalidConditionValueError,
    InvalidConfigurationRequest,
    LoadBalancerNotFoundError,
    ValidationError,
)
from moto.server import main
from moto.wafv2 import models as wafv2_models

_create_load_balancer = models.ELBv2Backend.create_load_balancer


def _subnet_ids(subnet_ids, subnet_mappings):
    ids = list(subnet_ids or [])
    ids.extend(mapping["SubnetId"] for mapping in subnet_mappings or [])
    return sorted(ids)


def create_load_balancer(
    self,
    name,
    security_groups,
    subnet_ids,
    subnet_mappings=None,
    scheme="internet-facing",
    loadbalancer_type=None,
    ip_address_type="ipv4",
    tags=None,
):
    for existing in self.load_balancers.values():
        if existing.name != name:
            continue
        same = (
            existing.type == (loadbalancer_type or "application")
            and existing.scheme == scheme
            and existing.ip_address_type == ip_address_type
            and sorted(s.id for s in existing.subnets) == _subnet_ids(subnet_ids, subnet_mappings)
            and sorted(existing.security_groups or []) == sorted(security_groups or [])
        )
        if same:
            return existing
        raise DuplicateLoadBalancerName()
    created = _create_load_balancer(
        self,
        name,
        security_groups,
        subnet_ids,
        subnet_mappings=subnet_mappings,
        scheme=scheme,
        loadbalancer_type=loadbalancer_type,
        ip_address_type=ip_address_type,
        tags=tags,
    )
    created.created_without_security_groups = not security_groups
    return created


models.ELBv2Backend.create_load_balancer = create_load_balancer

_set_security_groups = models.ELBv2Backend.set_security_groups


def set_security_groups(self, arn, sec_groups):
    balancer = self.load_balancers.get(arn)
    without = getattr(balancer, "created_without_security_groups", False)
    if balancer is not None and balancer.type == "network" and without:
        raise InvalidConfigurationRequest(
            "You cannot set security groups on a Network Load Balancer which was created without any security groups"
        )
    return _set_security_groups(self, arn, sec_groups)


models.ELBv2Backend.set_security_groups = set_security_groups



def _balancer(response):
    balancer = response.elbv2_backend.load_balancers.get(response._get_param("LoadBalancerArn"))
    if balancer is None:
        raise LoadBalancerNotFoundError()
    return balancer


def describe_capacity_reservation(self):
    units = getattr(_balancer(self), "capacity_units", None)
    if units is None:
        return ActionResult({"CapacityReservationState": []})
    return ActionResult(
        {
            "MinimumLoadBalancerCapacity": {"CapacityUnits": units},
            "CapacityReservationState": [{"State": {"Code": "provisioned"}}],
        }
    )


def modify_capacity_reservation(self):
    balancer = _balancer(self)
    capacity = self._get_params().get("MinimumLoadBalancerCapacity")
    reset = str(self._get_param("ResetCapacityReservation")).lower() == "true"
    if reset == (capacity is not None):
        raise ValidationError("Specify either MinimumLoadBalancerCapacity or ResetCapacityReservation")
    if reset:
        balancer.capacity_units = None
    else:
        balancer.capacity_units = int(capacity["CapacityUnits"])
    return EmptyResult()


responses.ELBV2Response.describe_capacity_reservation = describe_capacity_reservation
responses.ELBV2Response.modify_capacity_reservation = modify_capacity_reservation

_associate_web_acl = wafv2_models.WAFV2Backend.associate_web_acl


def associate_web_acl(self, web_acl_arn, resource_arn):
    # Refused like AWS (unknown web ACL) before anything changes.
    if web_acl_arn not in self.wacls:
        return _associate_web_acl(self, web_acl_arn, resource_arn)
    for web_acl in self.wacls.values():
        while resource_arn in web_acl.associated_resources:
            web_acl.associated_resources.remove(resource_arn)
    return _associate_web_acl(self, web_acl_arn, resource_arn)


wafv2_models.WAFV2Backend.associate_web_acl = associate_web_acl

_delete_load_balancer = models.ELBv2Backend.delete_load_balancer


def delete_load_balancer(self, arn):
    _delete_load_balancer(self, arn)
    backend = wafv2_models.wafv2_backends[self.account_id][self.region_name]
    for web_acl in backend.wacls.values():
        while arn in web_acl.associated_resources:
            web_acl.associated_resources.remove(arn)


models.ELBv2Backend.delete_load_balancer = delete_load_balancer

# ---- ELBv2 trust stores and mutual TLS ----

from moto.core.responses import ActionResult, EmptyResult
from moto.elbv2 import responses as elbv2_responses
from moto.elbv2.exceptions import ELBClientError


def _trust_stores(backend):
    if not hasattr(backend, "elbow_trust_stores"):
        backend.elbow_trust_stores = {}
    return backend.elbow_trust_stores


def _trust_store_not_found(what):
    return ELBClientError("TrustStoreNotFound", f"Trust store '{what}' not found")


def create_trust_store(self):
    backend = self.elbv2_backend
    stores = _trust_stores(backend)
    name = self._get_param("Name")
    if any(store["Name"] == name for store in stores.values()):
        raise ELBClientError("DuplicateTrustStoreName", f"A trust store with the name '{name}' already exists")
    arn = f"arn:aws:elasticloadbalancing:{backend.region_name}:{backend.account_id}:truststore/{name}/{len(stores) + 1:016x}"
    stores[arn] = {"Name": name, "TrustStoreArn": arn, "Status": "ACTIVE", "NumberOfCaCertificates": 1, "TotalRevokedEntries": 0}
    return ActionResult({"TrustStores": [stores[arn]]})


def describe_trust_stores(self):
    stores = _trust_stores(self.elbv2_backend)
    names = self._get_param("Names", [])
    arns = self._get_param("TrustStoreArns", [])
    found = []
    for name in names:
        match = [store for store in stores.values() if store["Name"] == name]
        if not match:
            raise _trust_store_not_found(name)
        found.extend(match)
    for arn in arns:
        if arn not in stores:
            raise _trust_store_not_found(arn)
        found.append(stores[arn])
    if not names and not arns:
        found = list(stores.values())
    return ActionResult({"TrustStores": found})


def delete_trust_store(self):
    stores = _trust_stores(self.elbv2_backend)
    arn = self._get_param("TrustStoreArn")
    if stores.pop(arn, None) is None:
        raise _trust_store_not_found(arn)
    return EmptyResult()


def _mutual_authentication(response, protocol, given):
    """`given` as AWS keeps it, or an error as AWS answers one."""
    if given is None:
        return None
    if (protocol or "").upper() != "HTTPS":
        raise ELBClientError("ValidationError", "Mutual authentication is supported on HTTPS listeners only")
    mode = given.get("Mode", "off")
    store = given.get("TrustStoreArn")
    if mode not in ("off", "passthrough", "verify"):
        raise ELBClientError("ValidationError", f"Mode '{mode}' is not valid")
    if mode == "verify":
        if not store:
            raise ELBClientError("ValidationError", "A trust store must be specified in verify mode")
        if store not in _trust_stores(response.elbv2_backend):
            raise _trust_store_not_found(store)
        return {
            "Mode": mode,
            "TrustStoreArn": store,
            "IgnoreClientCertificateExpiry": bool(given.get("IgnoreClientCertificateExpiry", False)),
            "TrustStoreAssociationStatus": "active",
            "AdvertiseTrustStoreCaNames": given.get("AdvertiseTrustStoreCaNames", "off"),
        }
    if store:
        raise ELBClientError("ValidationError", f"A trust store cannot be specified in {mode} mode")
    return {"Mode": mode}


_create_listener = elbv2_responses.ELBV2Response.create_listener
_modify_listener = elbv2_responses.ELBV2Response.modify_listener


def create_listener(self):
    mutual = _mutual_authentication(self, self._get_param("Protocol"), self._get_param("MutualAuthentication"))
    answer = _create_listener(self)
    for listener in answer.result["Listeners"]:
        listener.mutual_authentication = mutual
    return answer


def modify_listener(self):
    given = self._get_param("MutualAuthentication")
    arn = self._get_param("ListenerArn")
    listener = self.elbv2_backend.describe_listeners(None, [arn])[0]
    protocol = self._get_param("Protocol") or listener.protocol
    mutual = _mutual_authentication(self, protocol, given)
    answer = _modify_listener(self)
    for changed in answer.result["Listeners"]:
        # Left out, mutual TLS stays as it was; a listener that is no longer HTTPS has none.
        if protocol.upper() != "HTTPS":
            changed.mutual_authentication = None
        elif given is not None:
            changed.mutual_authentication = mutual
    return answer


elbv2_responses.ELBV2Response.create_trust_store = create_trust_store
elbv2_responses.ELBV2Response.describe_trust_stores = describe_trust_stores
elbv2_responses.ELBV2Response.delete_trust_store = delete_trust_store
elbv2_responses.ELBV2Response.create_listener = create_listener
elbv2_responses.ELBV2Response.modify_listener = modify_listener


_modify_target_group = responses.ELBV2Response.modify_target_group


def modify_target_group(self):
    result = _modify_target_group(self)
    grpc_codes = self._get_param("Matcher.GrpcCode")
    if grpc_codes is not None:
        target_group = self.elbv2_backend.target_groups[self._get_param("TargetGroupArn")]
        target_group.matcher = {"GrpcCode": grpc_codes}
    return result


responses.ELBV2Response.modify_target_group = modify_target_group

def _regex_aware(config_key, validate):
    def validate_condition(self, condition):
        config = condition.get(config_key) or {}
        if "RegexValues" not in config:
            return validate(self, condition)
        if config.get("Values"):
            raise InvalidConditionValueError("You cannot provide both 'Values' and 'RegexValues' in one condition")
        if not config["RegexValues"]:
            raise InvalidConditionValueError("A condition value must be specified")
        return None

    return validate_condition


for _field, _config_key in [
    ("host_header", "HostHeaderConfig"),
    ("path_pattern", "PathPatternConfig"),
    ("http_header", "HttpHeaderConfig"),
]:
    _name = f"_validate_{_field}_condition"
    setattr(models.ELBv2Backend, _name, _regex_aware(_config_key, getattr(models.ELBv2Backend, _name)))

# ---- ELBv2 rule transforms ----

_create_rule = responses.ELBV2Response.create_rule
_modify_rule = responses.ELBV2Response.modify_rule


def _transforms(given):
    """`given` as AWS keeps it, or an error as AWS answers one."""
    seen = set()
    for transform in given:
        kind = transform.get("Type")
        config = {"host-header-rewrite": "HostHeaderRewriteConfig", "url-rewrite": "UrlRewriteConfig"}.get(kind)
        if config is None:
            raise ValidationError(f"Transform type '{kind}' is not valid")
        if kind in seen:
            raise ValidationError(f"A rule can have at most one '{kind}' transform")
        seen.add(kind)
        rewrites = (transform.get(config) or {}).get("Rewrites") or []
        if len(rewrites) != 1:
            raise ValidationError(f"A '{kind}' transform must have exactly one rewrite")
    return given


def create_rule(self):
    transforms = _transforms(self._get_params().get("Transforms") or [])
    answer = _create_rule(self)
    for rule in answer.result["Rules"]:
        rule.transforms = transforms
    return answer


def modify_rule(self):
    params = self._get_params()
    given = params.get("Transforms")
    reset = str(params.get("ResetTransforms", "false")).lower() == "true"
    if given and reset:
        raise ValidationError("You cannot specify both 'Transforms' and 'ResetTransforms'")
    transforms = _transforms(given) if given else None
    answer = _modify_rule(self)
    for rule in answer.result["Rules"]:
        if reset:
            rule.transforms = []
        elif transforms is not None:
            rule.transforms = transforms
    return answer


responses.ELBV2Response.create_rule = create_rule
responses.ELBV2Response.modify_rule = modify_rule

# ---- QUIC ----

_QUIC = ("QUIC", "TCP_QUIC")
# What moto validates a QUIC protocol as: the UDP protocol it carries.
_CARRIED = {"QUIC": "UDP", "TCP_QUIC": "TCP_UDP"}
_create_target_group = models.ELBv2Backend.create_target_group
_validate_port_and_protocol = models.ELBv2Backend._validate_port_and_protocol
_backend_create_listener = models.ELBv2Backend.create_listener
_backend_modify_listener = models.ELBv2Backend.modify_listener
_register = models.FakeTargetGroup.register
_health_for = models.FakeTargetGroup.health_for


def create_target_group(self, name, **kwargs):
    protocol = kwargs.get("protocol")
    if protocol not in _QUIC:
        return _create_target_group(self, name, **kwargs)
    group = _create_target_group(self, name, **{**kwargs, "protocol": _CARRIED[protocol]})
    group.protocol = protocol
    return group


def validate_port_and_protocol(self, loadbalancer_type, port, protocol):
    if loadbalancer_type == "network" and protocol in _QUIC:
        protocol = _CARRIED[protocol]
    return _validate_port_and_protocol(self, loadbalancer_type, port, protocol)


def _check_quic_listener(backend, balancer, protocol, actions, replacing=None):
    refuse = lambda message: InvalidConfigurationRequest(message)  # noqa: E731
    others = [l.protocol for arn, l in balancer.listeners.items() if arn != replacing]
    if protocol in _QUIC:
        if balancer.security_groups:
            raise refuse("QUIC and TCP_QUIC listeners are not allowed on load balancers with associated security groups")
        if balancer.ip_address_type == "dualstack":
            raise refuse("QUIC and TCP_QUIC listeners are not allowed on dualstack load balancers")
        if any(p in _QUIC for p in others):
            raise refuse("Only one QUIC or TCP_QUIC listener is allowed on a load balancer")
        if any(p in ("UDP", "TCP_UDP") for p in others):
            raise refuse("QUIC and TCP_QUIC listeners are not allowed on a load balancer with UDP or TCP_UDP listeners")
    elif protocol in ("UDP", "TCP_UDP") and any(p in _QUIC for p in others):
        raise refuse("UDP and TCP_UDP listeners are not allowed on a load balancer with a QUIC or TCP_QUIC listener")
    for action in actions or []:
        arns = [action.get("TargetGroupArn")]
        arns += [g.get("TargetGroupArn") for g in (action.get("ForwardConfig") or {}).get("TargetGroups") or []]
        for arn in filter(None, arns):
            group = backend.target_groups.get(arn)
            if group and (protocol in _QUIC or group.protocol in _QUIC) and group.protocol != protocol:
                raise refuse(f"A {protocol} listener cannot forward to a target group of protocol {group.protocol}")


def backend_create_listener(self, load_balancer_arn, protocol, port, ssl_policy, certificate, actions, *args, **kwargs):
    balancer = self.load_balancers.get(load_balancer_arn)
    if balancer is not None:
        _check_quic_listener(self, balancer, protocol, actions)
    return _backend_create_listener(
        self, load_balancer_arn, protocol, port, ssl_policy, certificate, actions, *args, **kwargs
    )


def backend_modify_listener(self, arn, port=None, protocol=None, ssl_policy=None, certificates=None, actions=None):
    listener = self.describe_listeners(load_balancer_arn=None, listener_arns=[arn])[0]
    balancer = self.load_balancers.get(listener.load_balancer_arn)
    if listener.protocol in _QUIC and port is not None and str(port) != str(listener.port):
        raise InvalidConfigurationRequest("Port updates for QUIC or TCP_QUIC listeners are not allowed")
    if balancer is not None:
        _check_quic_listener(self, balancer, protocol or listener.protocol, actions, replacing=arn)
    # moto takes only HTTP, HTTPS and TCP here; AWS takes every protocol of the load balancer.
    udp = protocol in ("UDP", "TCP_UDP") + _QUIC
    changed = _backend_modify_listener(self, arn, port, None if udp else protocol, ssl_policy, certificates, actions)
    if udp:
        changed.protocol = protocol
    return changed


def _well_formed_server_id(server_id):
    digits = server_id[2:] if server_id.startswith("0x") else ""
    return len(digits) == 16 and all(c in "0123456789abcdef" for c in digits)


def register(self, targets):
    quic = self.protocol in _QUIC
    ids = {t.get("QuicServerId"): t["Id"] for t in self.targets.values() if t.get("QuicServerId")}
    for target in targets:
        server_id = target.get("QuicServerId")
        if not quic:
            if server_id:
                raise ValidationError(f"Target '{target['Id']}' has a QUIC server ID, which only QUIC and TCP_QUIC target groups take")
            continue
        if not server_id:
            raise ValidationError(f"Target '{target['Id']}' needs a QUIC server ID in a {self.protocol} target group")
        if not _well_formed_server_id(server_id):
            raise ValidationError(f"QUIC server ID '{server_id}' must be 0x followed by 16 lowercase hexadecimal characters")
        held = self.targets.get(target["Id"])
        if held and held.get("QuicServerId") != server_id:
            raise ValidationError(
                f"Target '{target['Id']}' is registered with QUIC server ID '{held.get('QuicServerId')}'; deregister it first"
            )
        if ids.get(server_id, target["Id"]) != target["Id"]:
            raise ValidationError(f"QUIC server ID '{server_id}' is already used by target '{ids[server_id]}'")
        ids[server_id] = target["Id"]
    _register(self, targets)
    for target in targets:
        if quic:
            self.targets[target["Id"]]["QuicServerId"] = target["QuicServerId"]


def health_for(self, target, ec2_backend):
    status = _health_for(self, target, ec2_backend)
    registered = self.targets.get(target["Id"]) or {}
    status.quic_server_id = registered.get("QuicServerId")
    return status


def _health_target(self):
    reported = {"Id": self.instance_id, "Port": self.port}
    if getattr(self, "quic_server_id", None):
        reported["QuicServerId"] = self.quic_server_id
    return reported


models.ELBv2Backend.create_target_group = create_target_group
models.ELBv2Backend._validate_port_and_protocol = validate_port_and_protocol
models.ELBv2Backend.create_listener = backend_create_listener
models.ELBv2Backend.modify_listener = backend_modify_listener
models.FakeTargetGroup.register = register
models.FakeTargetGroup.health_for = health_for
models.FakeHealthStatus.target = property(_health_target)


if __name__ == "__main__":
    main(sys.argv[1:])
