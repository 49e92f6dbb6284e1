// The chart rendered by `helm template`, parsed into objects, with the value sets CI covers.
import { join } from "node:path";
import { loadAllYaml } from "@kubernetes/client-node";
import { CHART, type HelmResult, runHelm } from "./_helm.ts";

export const RELEASE = "grid";
export const NAMESPACE = "symphony";
export const FULLNAME = "grid-hostfactory-k8s";

/** The value sets of charts/hostfactory-k8s/ci, by name; "default" is the chart's own values. */
export const VALUE_SETS = ["default", "ha", "tls", "beside-hostfactory", "openshift"] as const;
export type ValueSet = (typeof VALUE_SETS)[number];

export interface RenderOptions {
  /** A value set from ci/ (default: the chart's values alone). */
  valueSet?: ValueSet;
  /** Values by dotted path, each given as JSON (helm --set-json). */
  set?: Record<string, unknown>;
}

/** helm's --namespace, --values and --set-json arguments for `options`. */
export function valueArgs(options: RenderOptions = {}): string[] {
  const args = ["--namespace", NAMESPACE];
  if (options.valueSet && options.valueSet !== "default") {
    args.push("--values", join(CHART, "ci", `${options.valueSet}-values.yaml`));
  }
  for (const [path, value] of Object.entries(options.set ?? {})) {
    args.push("--set-json", `${path}=${JSON.stringify(value)}`);
  }
  return args;
}

/** `helm template` as it ran; for the refusals. */
export function template(options: RenderOptions = {}): HelmResult {
  return runHelm(["template", RELEASE, CHART, ...valueArgs(options)]);
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string } };
}
export interface Probe {
  grpc?: { port: number; service?: string };
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
}
export interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
}
export interface Container {
  name: string;
  image: string;
  env?: EnvVar[];
  ports?: { name: string; containerPort: number; protocol?: string }[];
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown>;
  volumeMounts?: VolumeMount[];
}
export interface Volume {
  name: string;
  emptyDir?: Record<string, unknown>;
  configMap?: { name: string };
  secret?: { secretName: string; items?: { key: string; path: string }[] };
  projected?: { sources: Record<string, unknown>[] };
}
export interface PodSpec {
  serviceAccountName: string;
  automountServiceAccountToken?: boolean;
  securityContext?: Record<string, unknown>;
  containers: Container[];
  volumes: Volume[];
}
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}
export interface Deployment extends KubeObject {
  spec: {
    replicas: number;
    strategy: { type: string };
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
}
export interface ServiceObject extends KubeObject {
  spec: {
    type?: string;
    clusterIP?: string;
    publishNotReadyAddresses?: boolean;
    selector: Record<string, string>;
    ports: { name: string; port: number; targetPort: string; protocol: string }[];
  };
}
export interface NetworkPolicy extends KubeObject {
  spec: {
    podSelector: { matchLabels: Record<string, string> };
    policyTypes: string[];
    ingress: { from: unknown[]; ports: { port: string; protocol: string }[] }[];
  };
}
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}
export interface Role extends KubeObject {
  rules: PolicyRule[];
}

export interface Rendered {
  objects: KubeObject[];
  /** The one object of a kind (and name); throws when there is none or several. */
  one<T extends KubeObject = KubeObject>(kind: string, name?: string): T;
  all(kind: string): KubeObject[];
  deployment: Deployment;
  sidecar: Container;
}

/**
 * One YAML document as written. (loadAllYaml turns known kinds into client-node's model classes,
 * which drop the fields they do not know; nested under a key the document stays plain.)
 */
function parseDocument(text: string): KubeObject | null {
  const [wrapped] = loadAllYaml(`document:\n${text.replace(/^/gm, "  ")}`) as [
    { document: KubeObject | null },
  ];
  return wrapped.document;
}

/**
 * The fields of `object` that the Kubernetes API does not know (by its OpenAPI model, as
 * client-node carries it): each a typo the API server would reject or silently drop. Objects of
 * kinds client-node does not know (custom resources) have none.
 */
export function unknownFields(object: KubeObject): string[] {
  const [typed] = loadAllYaml(JSON.stringify(object)) as [unknown];
  const known = JSON.parse(JSON.stringify(typed)) as unknown;
  const unknown: string[] = [];
  const walk = (written: unknown, kept: unknown, path: string) => {
    if (typeof written !== "object" || written === null) return;
    for (const [key, value] of Object.entries(written)) {
      // client-node renames fields that clash with JavaScript words: from → _from.
      const keptObject = typeof kept === "object" && kept !== null ? kept : {};
      const keptValue =
        (keptObject as Record<string, unknown>)[key] ??
        (keptObject as Record<string, unknown>)[`_${key}`];
      if (keptValue === undefined) unknown.push(`${path}.${key}`);
      else walk(value, keptValue, `${path}.${key}`);
    }
  };
  walk(object, known, `${object.kind} ${object.metadata.name}`);
  return unknown;
}

/** Renders the chart and parses what it printed; a refusal throws with helm's message. */
export function render(options: RenderOptions = {}): Rendered {
  const result = template(options);
  if (result.status !== 0) {
    throw new Error(`helm template ${JSON.stringify(options)} failed:\n${result.stderr}`);
  }
  const objects = result.stdout
    .split(/^---$/m)
    .map(parseDocument)
    .filter((object): object is KubeObject => object !== null);
  const all = (kind: string) => objects.filter((object) => object.kind === kind);
  const one = <T extends KubeObject>(kind: string, name?: string): T => {
    const found = all(kind).filter((object) => name === undefined || object.metadata.name === name);
    if (found.length !== 1) {
      throw new Error(`expected one ${kind}${name ? ` ${name}` : ""}, found ${found.length}`);
    }
    return found[0] as T;
  };
  const deployment = one<Deployment>("Deployment");
  const sidecar = deployment.spec.template.spec.containers.find((c) => c.name === "sidecar");
  if (!sidecar) throw new Error("the Deployment has no container named sidecar");
  return { objects, one, all, deployment, sidecar };
}

/** A container's environment as name → value (fieldRefs as "fieldRef:<path>"). */
export function envOf(container: Container): Map<string, string> {
  return new Map(
    (container.env ?? []).map((variable) => [
      variable.name,
      variable.value ?? `fieldRef:${variable.valueFrom?.fieldRef?.fieldPath}`,
    ]),
  );
}
