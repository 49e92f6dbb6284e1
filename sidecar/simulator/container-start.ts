// What keeps a simulated kubelet from starting a pod's containers, as a real one would say it:
// an image from a registry no resolver answers (the `.invalid` top-level domain, reserved by
// RFC 6761 for names that never resolve), and a Secret or ConfigMap that an `env` or `envFrom`
// names and that is missing. The simulator serves no Secrets, so every Secret named is missing.
import type { Container, KubeObject, Pod } from "./object-types.ts";

/** A container the kubelet cannot start, with its waiting reason and message. */
export interface StartFailure {
  container: string;
  reason: "ErrImagePull" | "CreateContainerConfigError";
  message: string;
  /** The ConfigMap whose absence (or missing key) it is, which a retry may find. */
  configMap?: string;
}

/** Looks up a ConfigMap of the pod's namespace; undefined when there is none of that name. */
export type ConfigMapLookup = (name: string) => KubeObject | undefined;

interface KeyRef {
  name?: string;
  key?: string;
  optional?: boolean;
}

interface EnvVar {
  valueFrom?: { configMapKeyRef?: KeyRef; secretKeyRef?: KeyRef };
}

interface EnvFromSource {
  configMapRef?: KeyRef;
  secretRef?: KeyRef;
}

/** The registry host of an image reference, when its first part names one. */
function registryHost(image: string): string | undefined {
  const slash = image.indexOf("/");
  if (slash < 0) return undefined;
  const first = image.slice(0, slash);
  if (!first.includes(".") && !first.includes(":") && first !== "localhost") return undefined;
  return first.replace(/:\d+$/, "");
}

function pullFailure(container: Container): StartFailure | undefined {
  const image = container.image ?? "";
  const host = registryHost(image);
  if (!host?.endsWith(".invalid")) return undefined;
  return {
    container: container.name,
    reason: "ErrImagePull",
    message: `failed to pull and unpack image "${image}": failed to resolve reference "${image}": dial tcp: lookup ${host}: no such host`,
  };
}

function configFailure(
  container: Container,
  namespace: string,
  configMap: ConfigMapLookup,
): StartFailure | undefined {
  const missing = (
    kind: "configmap" | "secret",
    ref: KeyRef | undefined,
    keyed: boolean,
  ): StartFailure | undefined => {
    if (!ref?.name || ref.optional) return undefined;
    const failure = (message: string): StartFailure => ({
      container: container.name,
      reason: "CreateContainerConfigError",
      message,
      ...(kind === "configmap" ? { configMap: ref.name } : {}),
    });
    const found = kind === "configmap" ? configMap(ref.name) : undefined;
    if (!found) return failure(`${kind} "${ref.name}" not found`);
    const data = (found as { data?: Record<string, string> }).data;
    if (keyed && ref.key !== undefined && data?.[ref.key] === undefined) {
      return failure(`couldn't find key ${ref.key} in ConfigMap ${namespace}/${ref.name}`);
    }
    return undefined;
  };
  for (const variable of (container.env as EnvVar[] | undefined) ?? []) {
    const from = variable.valueFrom;
    const why =
      missing("configmap", from?.configMapKeyRef, true) ??
      missing("secret", from?.secretKeyRef, true);
    if (why) return why;
  }
  for (const source of (container.envFrom as EnvFromSource[] | undefined) ?? []) {
    const why =
      missing("configmap", source.configMapRef, false) ??
      missing("secret", source.secretRef, false);
    if (why) return why;
  }
  return undefined;
}

/** The first container (in spec order) the kubelet cannot start, or undefined. */
export function startFailure(pod: Pod, configMap: ConfigMapLookup): StartFailure | undefined {
  const namespace = pod.metadata.namespace ?? "";
  for (const container of pod.spec.containers) {
    const pull = pullFailure(container);
    if (pull) return pull;
    const config = configFailure(container, namespace, configMap);
    if (config) return config;
  }
  return undefined;
}
