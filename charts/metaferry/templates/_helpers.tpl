{{/*
Names, labels and small computed values shared by every template.
*/}}

{{/* The chart name, overridable with nameOverride. */}}
{{- define "metaferry.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The base name of every object. A release called "metaferry" (the documented install) gives plain
"metaferry"; any other release name is used as a prefix, as in most charts.
*/}}
{{- define "metaferry.fullname" -}}
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

{{- define "metaferry.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object the chart creates. */}}
{{- define "metaferry.labels" -}}
helm.sh/chart: {{ include "metaferry.chart" . }}
{{ include "metaferry.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: metaferry
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Labels that select the operator pods. The operator hands them to every connector's NetworkPolicy
(METAFERRY_OPERATOR_POD_LABELS), so only these pods may call a connector runtime's API.
*/}}
{{- define "metaferry.selectorLabels" -}}
app.kubernetes.io/name: {{ include "metaferry.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{/* The same selector labels as "k=v,k=v", the format of METAFERRY_OPERATOR_POD_LABELS. */}}
{{- define "metaferry.selectorLabelPairs" -}}
{{- $pairs := list }}
{{- range $key, $value := (include "metaferry.selectorLabels" . | fromYaml) }}
{{- $pairs = append $pairs (printf "%s=%s" $key $value) }}
{{- end }}
{{- join "," (sortAlpha $pairs) }}
{{- end }}

{{/* The operator's ServiceAccount. */}}
{{- define "metaferry.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "metaferry.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* image reference: repository[:tag][@digest]; the tag defaults to the chart's appVersion. */}}
{{- define "metaferry.imageRef" -}}
{{- $image := index . 0 }}
{{- $chart := index . 1 }}
{{- $ref := $image.repository }}
{{- $tag := toString (default $chart.AppVersion $image.tag) }}
{{- if $tag }}{{ $ref = printf "%s:%s" $ref $tag }}{{ end }}
{{- if $image.digest }}{{ $ref = printf "%s@%s" $ref $image.digest }}{{ end }}
{{- $ref }}
{{- end }}

{{- define "metaferry.image" -}}
{{- include "metaferry.imageRef" (list .Values.image .Chart) }}
{{- end }}

{{/* The image of connector pods: runtime.image, each unset field taken from image. */}}
{{- define "metaferry.runtimeImage" -}}
{{- $runtime := dict "repository" (default .Values.image.repository .Values.runtime.image.repository) }}
{{- if .Values.runtime.image.repository }}
{{- $_ := set $runtime "tag" .Values.runtime.image.tag }}
{{- $_ := set $runtime "digest" .Values.runtime.image.digest }}
{{- else }}
{{- $_ := set $runtime "tag" (default .Values.image.tag .Values.runtime.image.tag) }}
{{- $_ := set $runtime "digest" (default .Values.image.digest .Values.runtime.image.digest) }}
{{- end }}
{{- include "metaferry.imageRef" (list $runtime .Chart) }}
{{- end }}

{{/* True (non-empty) when the operator watches only the listed namespaces. */}}
{{- define "metaferry.namespaced" -}}
{{- if .Values.watchNamespaces }}true{{ end }}
{{- end }}

{{/* Operator replicas: 1, or highAvailability.replicas with peering. */}}
{{- define "metaferry.replicas" -}}
{{- if .Values.highAvailability.enabled }}{{ .Values.highAvailability.replicas }}{{ else }}1{{ end }}
{{- end }}

{{/* The namespace where `helm test` creates its sample IntegrationConnector: one the operator watches. */}}
{{- define "metaferry.testNamespace" -}}
{{- if or (not .Values.watchNamespaces) (has .Release.Namespace .Values.watchNamespaces) }}{{ .Release.Namespace }}
{{- else }}{{ first .Values.watchNamespaces }}{{ end }}
{{- end }}

{{/*
Labels of the objects of one component other than the operator (repository, catalog): the operator's
selector labels are reserved for operator pods, which connector NetworkPolicies admit.
Called with (list $ "component").
*/}}
{{- define "metaferry.componentLabels" -}}
{{- $ := index . 0 }}
helm.sh/chart: {{ include "metaferry.chart" $ }}
{{ include "metaferry.componentSelectorLabels" . }}
app.kubernetes.io/version: {{ $.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ $.Release.Service }}
app.kubernetes.io/part-of: metaferry
{{- with $.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "metaferry.componentSelectorLabels" -}}
{{- $ := index . 0 }}
app.kubernetes.io/name: {{ include "metaferry.name" $ }}
app.kubernetes.io/instance: {{ $.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{/* The bundled PostgreSQL's objects (StatefulSet, Services, Secret). */}}
{{- define "metaferry.postgresqlName" -}}
{{- printf "%s-postgresql" (include "metaferry.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The Secret and key holding the repository URL, "name key"; empty in perPod mode. A repository.mode it
does not know, or external without existingSecret, or existingSecret with another mode, fails the render.
*/}}
{{- define "metaferry.repositorySecret" -}}
{{- $mode := .Values.repository.mode }}
{{- if eq $mode "bundled" }}
{{- if .Values.repository.existingSecret }}
{{- fail "repository.existingSecret is set but repository.mode is bundled: set repository.mode=external to use that PostgreSQL" }}
{{- end }}
{{- printf "%s url" (include "metaferry.postgresqlName" .) }}
{{- else if eq $mode "external" }}
{{- printf "%s %s" (required "repository.mode=external needs repository.existingSecret (a Secret holding the PostgreSQL URL)" .Values.repository.existingSecret) .Values.repository.secretKey }}
{{- else if eq $mode "perPod" }}
{{- if .Values.repository.existingSecret }}
{{- fail "repository.existingSecret is set but repository.mode is perPod: set repository.mode=external to use that PostgreSQL" }}
{{- end }}
{{- else }}
{{- fail (printf "repository.mode must be bundled, external or perPod, not %q" $mode) }}
{{- end }}
{{- end }}

{{/* An env entry METAFERRY_REPOSITORY_URL from the repository Secret (nothing in perPod mode). */}}
{{- define "metaferry.repositoryUrlEnv" -}}
{{- $ref := include "metaferry.repositorySecret" . }}
{{- if $ref }}
- name: METAFERRY_REPOSITORY_URL
  valueFrom:
    secretKeyRef:
      name: {{ index (splitList " " $ref) 0 }}
      key: {{ index (splitList " " $ref) 1 }}
{{- end }}
{{- end }}
