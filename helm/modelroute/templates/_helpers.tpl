{{/* Names: <release>-modelroute, trimmed to the 63 characters DNS labels allow. */}}
{{- define "modelroute.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "modelroute.fullname" -}}
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

{{- define "modelroute.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "modelroute.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: modelroute
{{- end }}

{{- define "modelroute.selectorLabels" -}}
app.kubernetes.io/name: {{ include "modelroute.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "modelroute.operatorSelectorLabels" -}}
{{ include "modelroute.selectorLabels" . }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "modelroute.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "modelroute.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "modelroute.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{- define "modelroute.sidecarImage" -}}
{{- if or .Values.injection.image.repository .Values.injection.image.tag }}
{{- $repo := default .Values.image.repository .Values.injection.image.repository }}
{{- $tag := default (default .Chart.AppVersion .Values.image.tag) .Values.injection.image.tag }}
{{- printf "%s:%s" $repo $tag }}
{{- else }}
{{- include "modelroute.image" . }}
{{- end }}
{{- end }}

{{- define "modelroute.webhookServiceName" -}}
{{- printf "%s-webhook" (include "modelroute.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "modelroute.webhookSecretName" -}}
{{- default (printf "%s-webhook-tls" (include "modelroute.fullname" .)) .Values.webhook.certificates.secretName }}
{{- end }}

{{- define "modelroute.webhookConfigurationName" -}}
{{- printf "%s-%s" (include "modelroute.fullname" .) .Release.Namespace | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "modelroute.leaseName" -}}
{{- printf "%s-leader" (include "modelroute.fullname" .) }}
{{- end }}

{{/*
Redis URL as the processes see it. With a password Secret the URL carries $(MODELROUTE_REDIS_PASSWORD),
which the kubelet expands from the env var defined just before it, so the password is never in a spec.
*/}}
{{- define "modelroute.redisUrl" -}}
{{- if .Values.redis.inChart.enabled }}
{{- printf "redis://%s-redis.%s.svc:6379/0" (include "modelroute.fullname" .) .Release.Namespace }}
{{- else }}
{{- $url := required "redis.external.url is required unless redis.inChart.enabled is true" .Values.redis.external.url }}
{{- if not (regexMatch "^rediss?://[^@/]+(/[0-9]+)?$" $url) }}
{{- fail (printf "redis.external.url must look like rediss://host:port/db without credentials, got %q" $url) }}
{{- end }}
{{- if .Values.redis.external.passwordSecret.name }}
{{- regexReplaceAll "^(rediss?://)" $url "${1}:$$(MODELROUTE_REDIS_PASSWORD)@" }}
{{- else }}
{{- $url }}
{{- end }}
{{- end }}
{{- end }}

{{- define "modelroute.otelEnv" -}}
{{- if .Values.otel.endpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ .Values.otel.endpoint | quote }}
- name: OTEL_EXPORTER_OTLP_PROTOCOL
  value: {{ .Values.otel.protocol | quote }}
- name: OTEL_TRACES_SAMPLER
  value: {{ .Values.otel.sampler | quote }}
{{- if .Values.otel.samplerArg }}
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ .Values.otel.samplerArg | quote }}
{{- end }}
{{- else }}
- name: OTEL_TRACES_EXPORTER
  value: none
{{- end }}
{{- end }}

{{/* The injector's configuration, read by operator/webhook/injection-config.ts. */}}
{{- define "modelroute.injectionConfig" -}}
{{- $cfg := dict
  "image" (include "modelroute.sidecarImage" .)
  "imagePullPolicy" .Values.injection.image.pullPolicy
  "resources" .Values.injection.resources
  "redisUrl" (include "modelroute.redisUrl" .)
  "logLevel" .Values.injection.logLevel
  "overrideBaseUrl" .Values.injection.overrideBaseUrl
}}
{{- if and (not .Values.redis.inChart.enabled) .Values.redis.external.passwordSecret.name }}
{{- $_ := set $cfg "redisPasswordSecret" (dict
  "name" (default .Values.redis.external.passwordSecret.name .Values.injection.redisPasswordSecret.name)
  "key" (default .Values.redis.external.passwordSecret.key .Values.injection.redisPasswordSecret.key)) }}
{{- end }}
{{- if and (not .Values.redis.inChart.enabled) .Values.redis.external.caSecret.name }}
{{- $_ := set $cfg "redisCaSecret" (dict
  "name" (default .Values.redis.external.caSecret.name .Values.injection.redisCaSecret.name)
  "key" (default .Values.redis.external.caSecret.key .Values.injection.redisCaSecret.key)) }}
{{- end }}
{{- if and (not .Values.redis.inChart.enabled) .Values.redis.external.cluster }}
{{- $_ := set $cfg "redisCluster" true }}
{{- end }}
{{- $otel := dict }}
{{- if .Values.otel.endpoint }}
{{- $otel = dict "endpoint" .Values.otel.endpoint "protocol" .Values.otel.protocol "sampler" .Values.otel.sampler }}
{{- if .Values.otel.samplerArg }}{{ $_ := set $otel "samplerArg" .Values.otel.samplerArg }}{{ end }}
{{- end }}
{{- $_ := set $cfg "otel" $otel }}
{{- $cfg | toJson }}
{{- end }}
