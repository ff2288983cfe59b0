{{/* The name of every object: the release's unless fullnameOverride. */}}
{{- define "vpc-cni.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "vpc-cni.selectorLabels" -}}
app.kubernetes.io/name: vpc-cni
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "vpc-cni.labels" -}}
{{ include "vpc-cni.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "vpc-cni.serviceAccountName" -}}
{{- default (include "vpc-cni.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "vpc-cni.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
