// The Pod for one machine: the template's pod, named and labelled by us. Only the template
// shapes the spec; the request contributes its id, the machine's index and its rc_account.
import { podName } from "./names.ts";
import type { Template } from "./parse.ts";

/** Labels and the annotation the sidecar puts on every Pod it creates. */
export const LABEL_INSTANCE = "hostfactory-k8s/instance";
export const LABEL_REQUEST_ID = "hostfactory-k8s/request-id";
export const LABEL_TEMPLATE_ID = "hostfactory-k8s/template-id";
export const LABEL_MACHINE_INDEX = "hostfactory-k8s/machine-index";
export const ANNOTATION_RC_ACCOUNT = "hostfactory-k8s/rc-account";
/** On the pods of a cooperative template (value "cooperative"): the instance's
 * PodDisruptionBudget selects them by it. */
export const LABEL_DRAIN_POLICY = "hostfactory-k8s/drain-policy";
/** What autoscalers read before they pick a node to empty; a cooperative host's pod carries
 * both, unless its template sets them otherwise. */
export const COOPERATIVE_ANNOTATIONS: Readonly<Record<string, string>> = {
  "cluster-autoscaler.kubernetes.io/safe-to-evict": "false",
  "karpenter.sh/do-not-disrupt": "true",
};

export interface MachinePod {
  instance: string;
  podNamePrefix: string;
  requestId: string;
  index: number;
  rcAccount: string;
  template: Template;
}

export function podManifest(machine: MachinePod) {
  const { template } = machine;
  const name = podName(machine.podNamePrefix, machine.requestId, machine.index);
  const cooperative = template.drainPolicy === "cooperative";
  // The template's own annotations win: an operator can let an autoscaler take such hosts.
  const annotations = {
    ...(cooperative ? COOPERATIVE_ANNOTATIONS : {}),
    ...template.pod.annotations,
  };
  if (machine.rcAccount) annotations[ANNOTATION_RC_ACCOUNT] = machine.rcAccount;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      labels: {
        ...template.pod.labels,
        [LABEL_INSTANCE]: machine.instance,
        [LABEL_REQUEST_ID]: machine.requestId,
        [LABEL_TEMPLATE_ID]: template.templateId,
        [LABEL_MACHINE_INDEX]: String(machine.index),
        ...(cooperative ? { [LABEL_DRAIN_POLICY]: "cooperative" } : {}),
      },
      annotations,
    },
    spec: {
      ...structuredClone(template.pod.spec),
      hostname: name,
      ...(template.subdomain ? { subdomain: template.subdomain } : {}),
    },
  };
}
