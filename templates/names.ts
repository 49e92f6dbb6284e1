// The names a template's Pod is given and checked against. The sidecar's naming (request ids,
// parsing a pod name back) builds on these; they live here because the client validates
// templates and renders sample Pods without the sidecar.

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A DNS-1123 label, as the API server requires of container, pod and Service names. */
export function isDnsLabel(value: string): boolean {
  return value.length <= 63 && DNS_LABEL.test(value);
}

/** A machine's pod name: deterministic from its request and index. */
export function podName(prefix: string, requestId: string, index: number): string {
  return `${prefix}-${requestId}-${index}`;
}
