"""moto's server, with the behaviours of AWS that moto 5 lacks and Elbow's tests rely on: ELBv2's
idempotent CreateLoadBalancer, and WAFv2 associations that are replaced and deleted as on AWS.

AWS documents CreateLoadBalancer as idempotent: a second call with a name already in use and the
same settings (type, scheme, IP address type, subnets, security groups) answers with the existing
load balancer; with other settings it fails with DuplicateLoadBalancerName. moto keys load
balancers by an ARN that holds a random id, so it never finds the first one: every repeated call
creates another load balancer of the same name. A client that retries a create whose answer was
lost (the mutation happened, the connection dropped) would then leave a duplicate on moto that AWS
never creates, which is exactly the case the fault campaigns test.

WAFv2: AWS's AssociateWebACL moves a resource from the web ACL it had to the new one, and a deleted
load balancer takes its association with it. moto appends the resource to the new web ACL's list
and keeps it in the old one's (GetWebACLForResource then answers with the old web ACL), and knows
nothing of load balancer deletions.

ModifyTargetGroup: AWS sets a gRPC target group's success codes from `Matcher.GrpcCode`; moto
reads only `Matcher.HttpCode`, so a gRPC group kept the codes it was created with.

Rule conditions: AWS matches a host-header, path-pattern or http-header condition by `Values` or
by `RegexValues` (regular expressions), exactly one of them. moto knows only `Values`: a condition
with `RegexValues` alone fails inside moto with an internal error.

Run as `python moto_server.py -H 127.0.0.1 -p PORT`, the arguments of `python -m moto.server`.
"""

import sys

from moto.elbv2 import models, responses
from moto.elbv2.exceptions import DuplicateLoadBalancerName, InvalidConditionValueError
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
    return _create_load_balancer(
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


models.ELBv2Backend.create_load_balancer = create_load_balancer

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

if __name__ == "__main__":
    main(sys.argv[1:])
