{{/* Names and labels. */}}
{{- define "hostfactory-k8s.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "hostfactory-k8s.fullname" -}}
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

{{- define "hostfactory-k8s.selectorLabels" -}}
app.kubernetes.io/name: {{ include "hostfactory-k8s.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: provider
{{- end }}

{{/* Labels of every object; the sidecar's Pods add the component. */}}
{{- define "hostfactory-k8s.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "hostfactory-k8s.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "hostfactory-k8s.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "hostfactory-k8s.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name: give the existing ServiceAccount to use when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The provider instance (HF_PROVIDER_NAME), and the Lease name the sidecar derives from it. */}}
{{- define "hostfactory-k8s.instance" -}}
{{- default .Release.Name .Values.instance }}
{{- end }}

{{- define "hostfactory-k8s.leaseName" -}}
{{- $instance := include "hostfactory-k8s.instance" . | lower | replace "_" "-" | replace "." "-" }}
{{- default (printf "hostfactory-k8s-%s" $instance) .Values.leaderElection.leaseName }}
{{- end }}

{{/* The sidecar's PodDisruptionBudget of cooperative hosts: hostfactory-k8s-<instance>-hosts. */}}
{{- define "hostfactory-k8s.hostsBudgetName" -}}
{{- $instance := include "hostfactory-k8s.instance" . | lower | replace "_" "-" | replace "." "-" }}
{{- printf "hostfactory-k8s-%s-hosts" $instance }}
{{- end }}

{{- define "hostfactory-k8s.templatesConfigMap" -}}
{{- default (printf "%s-templates" (include "hostfactory-k8s.fullname" .)) .Values.existingTemplatesConfigMap }}
{{- end }}

{{- define "hostfactory-k8s.tlsSecret" -}}
{{- default (printf "%s-tls" (include "hostfactory-k8s.fullname" .)) .Values.tls.secretName }}
{{- end }}

{{- define "hostfactory-k8s.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* Where things are inside the sidecar's container. */}}
{{- define "hostfactory-k8s.socketDir" -}}/run/hostfactory{{- end }}
{{- define "hostfactory-k8s.socketAddress" -}}unix:///run/hostfactory/provider.sock{{- end }}
{{- define "hostfactory-k8s.templatesDir" -}}/etc/hostfactory-k8s/templates{{- end }}
{{- define "hostfactory-k8s.tlsDir" -}}/etc/hostfactory-k8s/tls{{- end }}
{{- define "hostfactory-k8s.clientCADir" -}}/etc/hostfactory-k8s/client-ca{{- end }}

{{/* "unix", "tls" or "plain": how the sidecar listens. */}}
{{- define "hostfactory-k8s.transport" -}}
{{- if eq .Values.topology "beside-hostfactory" }}unix
{{- else if .Values.grpc.insecure }}plain
{{- else }}tls
{{- end }}
{{- end }}

{{- define "hostfactory-k8s.listen" -}}
{{- if eq (include "hostfactory-k8s.transport" .) "unix" }}
{{- include "hostfactory-k8s.socketAddress" . }}
{{- else }}
{{- printf "%s:%d" .Values.bindAddress (int .Values.grpc.port) }}
{{- end }}
{{- end }}

{{- define "hostfactory-k8s.healthListen" -}}
{{- printf "%s:%d" .Values.bindAddress (int .Values.probes.port) }}
{{- end }}

{{/* Node's HTTP server, which serves the metrics, takes an IPv6 address without its brackets. */}}
{{- define "hostfactory-k8s.metricsListen" -}}
{{- printf "%s:%d" (.Values.bindAddress | trimPrefix "[" | trimSuffix "]") (int .Values.metrics.port) }}
{{- end }}

{{/* Labels of the metrics Service, which the ServiceMonitor selects it by. */}}
{{- define "hostfactory-k8s.metricsSelectorLabels" -}}
app.kubernetes.io/name: {{ include "hostfactory-k8s.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: metrics
{{- end }}

{{/*
A native grpc probe on the health port, with its timings. Arguments: the root context, the
health service to ask about, and the probe's values.
*/}}
{{- define "hostfactory-k8s.probe" -}}
grpc:
  port: {{ (index . 0).Values.probes.port }}
  service: {{ index . 1 | quote }}
{{ toYaml (index . 2) }}
{{- end }}

{{/* Checks across values that the schema cannot express, with what to do about them. */}}
{{- define "hostfactory-k8s.validate" -}}
{{- $v := .Values }}
{{- if and (gt (int $v.replicaCount) 1) (not $v.leaderElection.enabled) }}
{{- fail (printf "replicaCount is %d but leaderElection.enabled is false: every replica would create and delete Pods. Turn leader election on, or run one replica." (int $v.replicaCount)) }}
{{- end }}
{{- $le := $v.leaderElection }}
{{- if not (and (lt (float64 $le.retryPeriodSeconds) (float64 $le.renewDeadlineSeconds)) (lt (float64 $le.renewDeadlineSeconds) (float64 $le.leaseDurationSeconds))) }}
{{- fail (printf "leaderElection: need retryPeriodSeconds < renewDeadlineSeconds < leaseDurationSeconds, found %v, %v, %v" $le.retryPeriodSeconds $le.renewDeadlineSeconds $le.leaseDurationSeconds) }}
{{- end }}
{{- if eq $v.topology "beside-hostfactory" }}
{{- if gt (int $v.replicaCount) 1 }}
{{- fail "topology beside-hostfactory runs one HostFactory Pod: set replicaCount to 1" }}
{{- end }}
{{- if not (and $v.hostfactory.container.name $v.hostfactory.container.image) }}
{{- fail "topology beside-hostfactory: hostfactory.container needs at least a name and an image (HostFactory's own container)" }}
{{- end }}
{{- if $v.networkPolicy.enabled }}
{{- fail "networkPolicy: with topology beside-hostfactory the gRPC API is on a Unix socket, and a policy would also cut off HostFactory's own traffic; leave networkPolicy.enabled false" }}
{{- end }}
{{- end }}
{{- /* Every port opened in the Pod, by number: what opens it. */}}
{{- $ports := dict }}
{{- if eq (include "hostfactory-k8s.transport" .) "unix" }}
{{- range $v.hostfactory.container.ports | default list }}
{{- $_ := set $ports (toString (int .containerPort)) "a port of hostfactory.container" }}
{{- end }}
{{- else }}
{{- $_ := set $ports (toString (int $v.grpc.port)) "grpc.port" }}
{{- end }}
{{- $opened := list (list "probes.port" $v.probes.port) }}
{{- if $v.metrics.enabled }}
{{- $opened = append $opened (list "metrics.port" $v.metrics.port) }}
{{- end }}
{{- range $opened }}
{{- $port := toString (int (index . 1)) }}
{{- if hasKey $ports $port }}
{{- fail (printf "%s %s is also %s: each port in the Pod needs a number of its own" (index . 0) $port (get $ports $port)) }}
{{- end }}
{{- $_ := set $ports $port (index . 0) }}
{{- end }}
{{- if and $v.metrics.serviceMonitor.enabled (not $v.metrics.enabled) }}
{{- fail "metrics.serviceMonitor.enabled needs metrics.enabled: the ServiceMonitor scrapes the metrics port" }}
{{- end }}
{{- if and $v.tls.certManager.enabled (not $v.tls.certManager.issuerRef.name) }}
{{- fail "tls.certManager.enabled: set tls.certManager.issuerRef.name to the cert-manager Issuer (or ClusterIssuer, with kind) that signs the sidecar's certificate" }}
{{- end }}
{{- if not $v.existingTemplatesConfigMap }}
{{- if not $v.templates }}
{{- fail "templates: give at least one HostFactory template (or existingTemplatesConfigMap)" }}
{{- end }}
{{- $podSpecs := $v.podSpecs | default dict }}
{{- range $i, $t := $v.templates }}
{{- if eq (hasKey $t "podSpec") (hasKey $t "podSpecFile") }}
{{- fail (printf "templates[%d] (%s): give exactly one of podSpec (inline) or podSpecFile (a key of podSpecs)" $i $t.templateId) }}
{{- end }}
{{- if and $t.podSpecFile (not (hasKey $podSpecs $t.podSpecFile)) }}
{{- fail (printf "templates[%d] (%s): podSpecFile %q is not a key of podSpecs (have: %s)" $i $t.templateId $t.podSpecFile (keys $podSpecs | sortAlpha | join ", ")) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
