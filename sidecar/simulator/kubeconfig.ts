/**
 * The kubeconfig of a simulator: plain HTTP (the simulator serves no TLS) and a bearer token,
 * which the simulator accepts whatever it is. Both kubectl and client-node load it as is;
 * client-node refuses an http:// server unless insecure-skip-tls-verify is set, hence the flag.
 */

export const KUBECONFIG_CONTEXT = "hostfactory-simulator";
export const KUBECONFIG_TOKEN = "simulator";

export function kubeconfigYaml(serverUrl: string, namespace = "default"): string {
  return `apiVersion: v1
kind: Config
clusters:
  - name: ${KUBECONFIG_CONTEXT}
    cluster:
      server: ${serverUrl}
      insecure-skip-tls-verify: true
contexts:
  - name: ${KUBECONFIG_CONTEXT}
    context:
      cluster: ${KUBECONFIG_CONTEXT}
      user: ${KUBECONFIG_CONTEXT}
      namespace: ${namespace}
current-context: ${KUBECONFIG_CONTEXT}
users:
  - name: ${KUBECONFIG_CONTEXT}
    user:
      token: ${KUBECONFIG_TOKEN}
preferences: {}
`;
}
