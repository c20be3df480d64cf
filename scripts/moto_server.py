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

if __name__ == "__main__":
    main(sys.argv[1:])
