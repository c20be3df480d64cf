//! The messages kubectl's typed commands (`create deployment|namespace|service|configmap|secret|
//! serviceaccount|ingress`) send, with Kubernetes' field numbers (from the API's generated.proto)
//! and JSON names. A field not listed here that arrives with a non-zero value makes the decoder
//! refuse the request, so a gap shows as an error naming the field, never as a silently dropped
//! setting.

/// How a field's value maps to JSON.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    String,
    Int,
    Bool,
    Message(&'static Message),
    /// A message whose fields JSON puts in the parent (Go's `json:",inline"`).
    Inline(&'static Message),
    /// `metav1.Time`: seconds and nanos, an RFC 3339 string in JSON.
    Time,
    /// `intstr.IntOrString`: a number or a string in JSON.
    IntOrString,
    /// Repeated key/value entries: a JSON object of strings.
    StringMap,
    /// A JSON object of base64 strings (Secret and ConfigMap binary data).
    BytesMap,
    /// A JSON object of quantities (resource requests and limits).
    QuantityMap,
}

#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub number: u32,
    pub json: &'static str,
    pub kind: Kind,
    pub repeated: bool,
    /// A Go pointer: present means set, even to zero (`replicas: 0`). Other scalar fields are
    /// `omitempty` in JSON, so their zero values are left out, as kube-apiserver would print them.
    pub pointer: bool,
}

#[derive(Debug)]
pub struct Message {
    pub name: &'static str,
    pub fields: &'static [Field],
}

impl Message {
    pub fn field(&self, number: u32) -> Option<&Field> {
        self.fields.iter().find(|f| f.number == number)
    }
}

const fn one(number: u32, json: &'static str, kind: Kind) -> Field {
    Field { number, json, kind, repeated: false, pointer: false }
}

const fn many(number: u32, json: &'static str, kind: Kind) -> Field {
    Field { number, json, kind, repeated: true, pointer: false }
}

const fn pointer(number: u32, json: &'static str, kind: Kind) -> Field {
    Field { number, json, kind, repeated: false, pointer: true }
}

use Kind::{Bool, BytesMap, Int, IntOrString, QuantityMap, String, StringMap, Time};

const fn msg(message: &'static Message) -> Kind {
    Kind::Message(message)
}

/// The top-level message for an object of `kind`, if kubectl may send it as protobuf.
pub fn object(kind: &str) -> Option<&'static Message> {
    Some(match kind {
        "Deployment" => &DEPLOYMENT,
        "Namespace" => &NAMESPACE,
        "Service" => &SERVICE,
        "ConfigMap" => &CONFIG_MAP,
        "Secret" => &SECRET,
        "ServiceAccount" => &SERVICE_ACCOUNT,
        "Ingress" => &INGRESS,
        _ => return None,
    })
}

// k8s.io/apimachinery/pkg/runtime

pub static TYPE_META: Message =
    Message { name: "runtime.TypeMeta", fields: &[one(1, "apiVersion", String), one(2, "kind", String)] };

// k8s.io/apimachinery/pkg/apis/meta/v1

static OBJECT_META: Message = Message {
    name: "ObjectMeta",
    fields: &[
        one(1, "name", String),
        one(2, "generateName", String),
        one(3, "namespace", String),
        one(5, "uid", String),
        one(6, "resourceVersion", String),
        one(7, "generation", Int),
        one(8, "creationTimestamp", Time),
        one(11, "labels", StringMap),
        one(12, "annotations", StringMap),
        many(13, "ownerReferences", msg(&OWNER_REFERENCE)),
        many(14, "finalizers", String),
    ],
};

static OWNER_REFERENCE: Message = Message {
    name: "OwnerReference",
    fields: &[
        one(5, "apiVersion", String),
        one(1, "kind", String),
        one(3, "name", String),
        one(4, "uid", String),
        pointer(6, "controller", Bool),
        pointer(7, "blockOwnerDeletion", Bool),
    ],
};

static LABEL_SELECTOR: Message = Message {
    name: "LabelSelector",
    fields: &[one(1, "matchLabels", StringMap), many(2, "matchExpressions", msg(&LABEL_SELECTOR_REQUIREMENT))],
};

static LABEL_SELECTOR_REQUIREMENT: Message = Message {
    name: "LabelSelectorRequirement",
    fields: &[one(1, "key", String), one(2, "operator", String), many(3, "values", String)],
};

// k8s.io/api/apps/v1

static DEPLOYMENT: Message = Message {
    name: "Deployment",
    fields: &[one(1, "metadata", msg(&OBJECT_META)), one(2, "spec", msg(&DEPLOYMENT_SPEC))],
};

static DEPLOYMENT_SPEC: Message = Message {
    name: "DeploymentSpec",
    fields: &[
        pointer(1, "replicas", Int),
        pointer(2, "selector", msg(&LABEL_SELECTOR)),
        one(3, "template", msg(&POD_TEMPLATE_SPEC)),
        one(4, "strategy", msg(&DEPLOYMENT_STRATEGY)),
        one(5, "minReadySeconds", Int),
        pointer(6, "revisionHistoryLimit", Int),
        one(7, "paused", Bool),
        pointer(9, "progressDeadlineSeconds", Int),
    ],
};

static DEPLOYMENT_STRATEGY: Message = Message {
    name: "DeploymentStrategy",
    fields: &[one(1, "type", String), pointer(2, "rollingUpdate", msg(&ROLLING_UPDATE_DEPLOYMENT))],
};

static ROLLING_UPDATE_DEPLOYMENT: Message = Message {
    name: "RollingUpdateDeployment",
    fields: &[pointer(1, "maxUnavailable", IntOrString), pointer(2, "maxSurge", IntOrString)],
};

// k8s.io/api/core/v1

static POD_TEMPLATE_SPEC: Message = Message {
    name: "PodTemplateSpec",
    fields: &[one(1, "metadata", msg(&OBJECT_META)), one(2, "spec", msg(&POD_SPEC))],
};

static POD_SPEC: Message = Message {
    name: "PodSpec",
    fields: &[
        many(2, "containers", msg(&CONTAINER)),
        one(3, "restartPolicy", String),
        pointer(4, "terminationGracePeriodSeconds", Int),
        one(6, "dnsPolicy", String),
        one(7, "nodeSelector", StringMap),
        one(8, "serviceAccountName", String),
        pointer(21, "automountServiceAccountToken", Bool),
        one(19, "schedulerName", String),
        many(15, "imagePullSecrets", msg(&LOCAL_OBJECT_REFERENCE)),
    ],
};

static CONTAINER: Message = Message {
    name: "Container",
    fields: &[
        one(1, "name", String),
        one(2, "image", String),
        many(3, "command", String),
        many(4, "args", String),
        one(5, "workingDir", String),
        many(6, "ports", msg(&CONTAINER_PORT)),
        many(7, "env", msg(&ENV_VAR)),
        one(8, "resources", msg(&RESOURCE_REQUIREMENTS)),
        one(13, "terminationMessagePath", String),
        one(14, "imagePullPolicy", String),
        one(20, "terminationMessagePolicy", String),
    ],
};

static CONTAINER_PORT: Message = Message {
    name: "ContainerPort",
    fields: &[
        one(1, "name", String),
        one(2, "hostPort", Int),
        one(3, "containerPort", Int),
        one(4, "protocol", String),
        one(5, "hostIP", String),
    ],
};

static ENV_VAR: Message = Message { name: "EnvVar", fields: &[one(1, "name", String), one(2, "value", String)] };

static RESOURCE_REQUIREMENTS: Message =
    Message { name: "ResourceRequirements", fields: &[one(1, "limits", QuantityMap), one(2, "requests", QuantityMap)] };

static LOCAL_OBJECT_REFERENCE: Message = Message { name: "LocalObjectReference", fields: &[one(1, "name", String)] };

static OBJECT_REFERENCE: Message = Message {
    name: "ObjectReference",
    fields: &[
        one(1, "kind", String),
        one(2, "namespace", String),
        one(3, "name", String),
        one(4, "uid", String),
        one(5, "apiVersion", String),
        one(6, "resourceVersion", String),
        one(7, "fieldPath", String),
    ],
};

static NAMESPACE: Message = Message {
    name: "Namespace",
    fields: &[one(1, "metadata", msg(&OBJECT_META)), one(2, "spec", msg(&NAMESPACE_SPEC))],
};

static NAMESPACE_SPEC: Message = Message { name: "NamespaceSpec", fields: &[many(1, "finalizers", String)] };

static SERVICE: Message =
    Message { name: "Service", fields: &[one(1, "metadata", msg(&OBJECT_META)), one(2, "spec", msg(&SERVICE_SPEC))] };

static SERVICE_SPEC: Message = Message {
    name: "ServiceSpec",
    fields: &[
        many(1, "ports", msg(&SERVICE_PORT)),
        one(2, "selector", StringMap),
        one(3, "clusterIP", String),
        one(4, "type", String),
        many(5, "externalIPs", String),
        one(7, "sessionAffinity", String),
        one(8, "loadBalancerIP", String),
        many(9, "loadBalancerSourceRanges", String),
        one(10, "externalName", String),
        one(11, "externalTrafficPolicy", String),
        one(12, "healthCheckNodePort", Int),
        pointer(17, "ipFamilyPolicy", String),
        many(18, "clusterIPs", String),
        many(19, "ipFamilies", String),
        pointer(20, "allocateLoadBalancerNodePorts", Bool),
        pointer(21, "loadBalancerClass", String),
        pointer(22, "internalTrafficPolicy", String),
    ],
};

static SERVICE_PORT: Message = Message {
    name: "ServicePort",
    fields: &[
        one(1, "name", String),
        one(2, "protocol", String),
        one(3, "port", Int),
        one(4, "targetPort", IntOrString),
        one(5, "nodePort", Int),
        pointer(6, "appProtocol", String),
    ],
};

static CONFIG_MAP: Message = Message {
    name: "ConfigMap",
    fields: &[
        one(1, "metadata", msg(&OBJECT_META)),
        one(2, "data", StringMap),
        one(3, "binaryData", BytesMap),
        pointer(4, "immutable", Bool),
    ],
};

static SECRET: Message = Message {
    name: "Secret",
    fields: &[
        one(1, "metadata", msg(&OBJECT_META)),
        one(2, "data", BytesMap),
        one(3, "type", String),
        one(4, "stringData", StringMap),
        pointer(5, "immutable", Bool),
    ],
};

static SERVICE_ACCOUNT: Message = Message {
    name: "ServiceAccount",
    fields: &[
        one(1, "metadata", msg(&OBJECT_META)),
        many(2, "secrets", msg(&OBJECT_REFERENCE)),
        many(3, "imagePullSecrets", msg(&LOCAL_OBJECT_REFERENCE)),
        pointer(4, "automountServiceAccountToken", Bool),
    ],
};

// k8s.io/api/networking/v1

static INGRESS: Message =
    Message { name: "Ingress", fields: &[one(1, "metadata", msg(&OBJECT_META)), one(2, "spec", msg(&INGRESS_SPEC))] };

static INGRESS_SPEC: Message = Message {
    name: "IngressSpec",
    fields: &[
        pointer(1, "defaultBackend", msg(&INGRESS_BACKEND)),
        many(2, "tls", msg(&INGRESS_TLS)),
        many(3, "rules", msg(&INGRESS_RULE)),
        pointer(4, "ingressClassName", String),
    ],
};

static INGRESS_RULE: Message = Message {
    name: "IngressRule",
    fields: &[one(1, "host", String), one(2, "ingressRuleValue", Kind::Inline(&INGRESS_RULE_VALUE))],
};

static INGRESS_RULE_VALUE: Message =
    Message { name: "IngressRuleValue", fields: &[pointer(1, "http", msg(&HTTP_INGRESS_RULE_VALUE))] };

static HTTP_INGRESS_RULE_VALUE: Message =
    Message { name: "HTTPIngressRuleValue", fields: &[many(1, "paths", msg(&HTTP_INGRESS_PATH))] };

static HTTP_INGRESS_PATH: Message = Message {
    name: "HTTPIngressPath",
    fields: &[one(1, "path", String), one(2, "backend", msg(&INGRESS_BACKEND)), pointer(3, "pathType", String)],
};

static INGRESS_BACKEND: Message =
    Message { name: "IngressBackend", fields: &[pointer(4, "service", msg(&INGRESS_SERVICE_BACKEND))] };

static INGRESS_SERVICE_BACKEND: Message = Message {
    name: "IngressServiceBackend",
    fields: &[one(1, "name", String), one(2, "port", msg(&SERVICE_BACKEND_PORT))],
};

static SERVICE_BACKEND_PORT: Message =
    Message { name: "ServiceBackendPort", fields: &[one(1, "name", String), one(2, "number", Int)] };

static INGRESS_TLS: Message =
    Message { name: "IngressTLS", fields: &[many(1, "hosts", String), one(2, "secretName", String)] };
