{{/* The chart's name, for labels. */}}
{{- define "jobcheck.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The name every object starts with: the release name, or RELEASE-CHART when the release name
does not hold the chart's. Release "jobcheck" gives "jobcheck".
*/}}
{{- define "jobcheck.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The webhook's Deployment, Service, ServiceAccount, roles and budget. */}}
{{- define "jobcheck.webhook" -}}
{{- printf "%s-webhook" (include "jobcheck.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The Secret cert-manager writes the serving certificate into. */}}
{{- define "jobcheck.tlsSecret" -}}
{{- printf "%s-tls" (include "jobcheck.webhook" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The Secret the webhook keeps its own CA and certificate in. A name of its own:
cert-manager leaves its Secret behind when its Certificate goes, and Helm could
not take that one over when switching back from cert-manager.
*/}}
{{- define "jobcheck.certsSecret" -}}
{{- printf "%s-certs" (include "jobcheck.webhook" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The name the API server dials: SERVICE.NAMESPACE.svc. */}}
{{- define "jobcheck.serviceHost" -}}
{{- printf "%s.%s.svc" (include "jobcheck.webhook" .) .Release.Namespace -}}
{{- end -}}

{{- define "jobcheck.serviceAccount" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "jobcheck.webhook" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Labels of every object but the selector's. */}}
{{- define "jobcheck.commonLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/part-of: {{ include "jobcheck.name" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "jobcheck.labels" -}}
{{ include "jobcheck.commonLabels" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels that select the webhook pods. */}}
{{- define "jobcheck.selectorLabels" -}}
app.kubernetes.io/name: {{ include "jobcheck.name" . }}-webhook
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels of the webhook's objects. */}}
{{- define "jobcheck.webhookLabels" -}}
{{ include "jobcheck.commonLabels" . }}
{{ include "jobcheck.selectorLabels" . }}
app.kubernetes.io/component: webhook
{{- end -}}

{{/* An image reference from {registry, repository, tag, digest}; the tag defaults to appVersion. */}}
{{- define "jobcheck.image" -}}
{{- $img := index . 0 -}}
{{- $root := index . 1 -}}
{{- $ref := $img.repository -}}
{{- if $img.registry -}}
{{- $ref = printf "%s/%s" $img.registry $img.repository -}}
{{- end -}}
{{- $ref = printf "%s:%s" $ref (default $root.Chart.AppVersion $img.tag) -}}
{{- if $img.digest -}}
{{- $ref = printf "%s@%s" $ref $img.digest -}}
{{- end -}}
{{- $ref -}}
{{- end -}}
