{{- define "referral-service.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "referral-service.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "referral-service.labels" -}}
{{ include "referral-service.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "referral-service.image" -}}
{{ required "image.repository is required" .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* Where the pod keeps its copies of the key material (see the init container). */}}
{{- define "referral-service.keyDir" -}}/run/referral-service/keys{{- end -}}

{{/*
Non-secret settings, for the ConfigMap the pods read and the one the migration hook reads (a pre-install
hook runs before the release's own ConfigMap exists). Production-required values fail the render here,
and secret values are refused: they belong in `secrets`.
*/}}
{{- define "referral-service.configData" -}}
{{- $env := .Values.env -}}
{{- range $name := list "REFERRAL_PUBLIC_URL" "REFERRAL_SMTP_HOST" "REFERRAL_SMTP_FROM" "REFERRAL_OPERATOR_NAME" "REFERRAL_OPERATOR_ADDRESS" "REFERRAL_OPERATOR_EMAIL" "REFERRAL_DATA_PROTECTION_OFFICER" "REFERRAL_SUPERVISORY_AUTHORITY" "REFERRAL_ACCESSIBILITY_ENFORCEMENT_BODY" "REFERRAL_COMPLAINT_OFFICE_NAME" "REFERRAL_COMPLAINT_OFFICE_ADDRESS" "REFERRAL_COMPLAINT_OFFICE_EMAIL" }}
{{- $_ := required (printf "env.%s is required in production" $name) (get $env $name) }}
{{- end }}
{{- range $name := list "REFERRAL_DATABASE_URL" "REFERRAL_SECRET_KEY" "REFERRAL_REDIS_URL" "REFERRAL_SMTP_PASSWORD" }}
{{- if hasKey $env $name }}
{{- fail (printf "env.%s is a secret: name its Secret key under `secrets` instead" $name) }}
{{- end }}
{{- end }}
{{- $fixed := dict
  "REFERRAL_ENV" "production"
  "REFERRAL_HOST" "0.0.0.0"
  "REFERRAL_PORT" "8000"
  "REFERRAL_METRICS_PORT" (toString .Values.metrics.port)
  "REFERRAL_LOG_FORMAT" "json"
  "REFERRAL_VAR_DIR" "/var/lib/referral-service"
  "REFERRAL_KEYRING_PATH" (printf "%s/keyring.json" (include "referral-service.keyDir" .))
  "REFERRAL_AUDIT_SIGNING_KEY_PATH" (printf "%s/audit-signing-key.pem" (include "referral-service.keyDir" .))
  "REFERRAL_SHUTDOWN_GRACE_SECONDS" (toString .Values.shutdownGraceSeconds)
}}
{{- range $name, $value := $env }}
{{- if hasKey $fixed $name }}
{{- fail (printf "env.%s is set by the chart" $name) }}
{{- end }}
{{- end }}
{{- range $name, $value := merge (dict) $fixed $env }}
{{- if ne (toString $value) "" }}
{{ $name }}: {{ toString $value | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The secret settings, each a reference to a key of the existing Secret. */}}
{{- define "referral-service.secretEnv" -}}
{{- $secret := required "secrets.existingSecret is required" .Values.secrets.existingSecret -}}
- name: REFERRAL_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ required "secrets.databaseUrlKey is required" .Values.secrets.databaseUrlKey }}
- name: REFERRAL_SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ required "secrets.secretKeyKey is required" .Values.secrets.secretKeyKey }}
{{- if .Values.secrets.redisUrlKey }}
- name: REFERRAL_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ .Values.secrets.redisUrlKey }}
{{- else if gt (int .Values.replicaCount) 1 }}
{{- fail "secrets.redisUrlKey is required with more than one replica: the public rate limits must be shared" }}
{{- end }}
{{- if .Values.secrets.smtpPasswordKey }}
- name: REFERRAL_SMTP_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ .Values.secrets.smtpPasswordKey }}
{{- end }}
{{- end -}}

{{- define "referral-service.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
{{- end -}}

{{- define "referral-service.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.runAsUser }}
runAsGroup: {{ .Values.runAsGroup }}
# Lets the init container read the key Secret (mounted group-readable); the copies it makes are 0400.
fsGroup: {{ .Values.runAsGroup }}
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end -}}
