// The Pod for one machine: the template's pod, named and labelled by us. Only the template
// shapes the spec; the request contributes its id, the machine's index and its rc_account.
import {
  ANNOTATION_RC_ACCOUNT,
  COOPERATIVE_ANNOTATIONS,
  LABEL_DRAIN_POLICY,
  LABEL_INSTANCE,
  LABEL_MACHINE_INDEX,
  LABEL_REQUEST_ID,
  LABEL_TEMPLATE_ID,
} from "./model.ts";
import { podName } from "./naming.ts";
import type { Template } from "./templates.ts";

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
