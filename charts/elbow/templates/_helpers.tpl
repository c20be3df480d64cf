{{/* The chart name, shortened to fit a label value. */}}
{{- define "elbow.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The name of every object: release-chart, or the release alone when it already contains the chart
name, cut to 63 characters because some name fields are DNS labels.
*/}}
{{- define "elbow.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels that select the operator's pods; they never change between upgrades. */}}
{{- define "elbow.selectorLabels" -}}
app.kubernetes.io/name: {{ include "elbow.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "elbow.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "elbow.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: elbow
{{- end }}

{{- define "elbow.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "elbow.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Where the leader-election Lease lives, and so where its Role is. */}}
{{- define "elbow.leaseNamespace" -}}
{{- default .Release.Namespace .Values.leaderElection.namespace }}
{{- end }}

{{- define "elbow.leaseName" -}}
{{- default (include "elbow.fullname" .) .Values.leaderElection.leaseName }}
{{- end }}

{{- define "elbow.ingressClassParamsName" -}}
{{- default .Values.ingressClass.name .Values.ingressClass.params.name }}
{{- end }}

{{/* The webhook's Service: the certificate names <this>.<namespace>.svc. */}}
{{- define "elbow.webhookServiceName" -}}
{{- printf "%s-webhook" (include "elbow.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The Secret holding the webhook's certificate. */}}
{{- define "elbow.webhookSecretName" -}}
{{- default (printf "%s-webhook-tls" (include "elbow.fullname" .)) .Values.webhook.certificate.secretName }}
{{- end }}

{{/* The MutatingWebhookConfiguration (cluster-scoped). */}}
{{- define "elbow.webhookConfigurationName" -}}
{{- include "elbow.fullname" . }}
{{- end }}

{{/* The cert-manager Certificate of the serving certificate (mode cert-manager). */}}
{{- define "elbow.webhookCertificateName" -}}
{{- printf "%s-webhook" (include "elbow.fullname" .) }}
{{- end }}

{{/* `elbow run`'s certificate mode for the chart's. */}}
{{- define "elbow.webhookCertificateFlag" -}}
{{- if eq .Values.webhook.certificate.mode "cert-manager" }}external{{ else }}self{{ end }}
{{- end }}
