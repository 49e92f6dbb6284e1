// HostFactory templates: validated as a whole, so that one bad edit never yields a partial set.
// The operator writes them in HostFactory's own style (templateId, maxNumber, typed attributes)
// and names the Pod spec each machine runs; a request can choose a template but never add to it.
import { isDnsLabel } from "./names.ts";
import { POD, POD_SPEC, podSchemaProblems } from "./pod-schema.ts";
import { parseQuantity } from "./quantity.ts";

export const DEFAULT_PENDING_TIMEOUT_SECONDS = 600;
const MIB = 2 ** 20;

export type AttributeType = "String" | "Numeric";
export interface Attribute {
  type: AttributeType;
  value: string;
}

/** A plain-JSON Pod manifest: only metadata.labels/annotations and spec are taken from it. */
export interface PodTemplate {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  spec: Record<string, unknown>;
}

export interface Template {
  templateId: string;
  /** -1 means unlimited. */
  maxNumber: number;
  attributes: Record<string, Attribute>;
  pod: PodTemplate;
  /** A machine whose pod is not running by then fails and its pod is deleted. */
  pendingTimeoutSeconds: number;
  /** Headless Service the pods join, so each resolves as <pod>.<subdomain>.<namespace>.svc. */
  subdomain?: string;
  /** Which name HostFactory is given: the pod's short hostname or its FQDN (needs subdomain). */
  hostnameStyle: "short" | "fqdn";
  /** What a voluntary eviction (a drain, an autoscaler) may do to a running host: proceed
   * (`immediate`), or wait until HostFactory returns the host (`cooperative`). */
  drainPolicy: DrainPolicy;
}

export const DRAIN_POLICIES = ["immediate", "cooperative"] as const;
export type DrainPolicy = (typeof DRAIN_POLICIES)[number];

export interface TemplateDefaults {
  pendingTimeoutSeconds: number;
  /** Whether the sidecar watches nodes. A cooperative template needs it: without it no host on
   * a draining node is ever reported, and the drain waits for good. Default true (not checked). */
  watchNodes?: boolean;
}

/** Thrown with every problem found, each prefixed by where it is. */
export class TemplateError extends Error {
  override name = "TemplateError";
  readonly problems: string[];

  constructor(problems: string[]) {
    super(`invalid templates: ${problems.join("; ")}`);
    this.problems = problems;
  }
}

/** Reads a pod spec file named by a template; throws with a readable message when it cannot. */
export type PodFileReader = (file: string) => unknown;

const TEMPLATE_ID = /^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/;
const KNOWN_KEYS = new Set([
  "templateId",
  "maxNumber",
  "attributes",
  "podSpec",
  "podSpecFile",
  "pendingTimeoutSeconds",
  "subdomain",
  "hostnameStyle",
  "drainPolicy",
]);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function stringMap(value: unknown, where: string, problems: string[]): Record<string, string> {
  if (value === undefined) return {};
  if (!isObject(value) || Object.values(value).some((v) => typeof v !== "string")) {
    problems.push(`${where}: expected a map of strings`);
    return {};
  }
  return value as Record<string, string>;
}

/**
 * Where the schema's findings are left to the rules below, which report them in their own words
 * (naming the container): the containers list, a container itself, its name and resources, and
 * the labels and annotations.
 */
const RULED =
  /^(spec\.)?containers(\[\d+\](\.name|\.resources(\.(requests|limits)(\..+)?)?)?)?$|^metadata\.(labels|annotations)(\..+)?$/;

/** Accepts a Pod manifest (`kind: Pod`) or a bare PodSpec; reports every problem of it. */
function podTemplate(value: unknown, where: string, problems: string[]): PodTemplate | undefined {
  if (!isObject(value)) {
    problems.push(`${where}: expected a Pod or a PodSpec object`);
    return undefined;
  }
  const isPod = value.kind === "Pod" || isObject(value.spec);
  for (const { path, message } of podSchemaProblems(value, isPod ? POD : POD_SPEC)) {
    if (!RULED.test(path)) problems.push(`${where}: ${path}: ${message}`);
  }
  const spec = isPod ? value.spec : value;
  const metadata = isPod && isObject(value.metadata) ? value.metadata : {};
  const labels = stringMap(metadata.labels, `${where}: metadata.labels`, problems);
  const annotations = stringMap(metadata.annotations, `${where}: metadata.annotations`, problems);
  if (!isObject(spec)) {
    problems.push(`${where}: the Pod has no spec`);
    return undefined;
  }
  const containers = spec.containers;
  if (!Array.isArray(containers) || containers.length === 0) {
    problems.push(`${where}: spec.containers must list at least one container`);
    return undefined;
  }
  const names = new Set<string>();
  let named = true;
  containers.forEach((container, i) => {
    if (!isObject(container)) {
      problems.push(`${where}: spec.containers[${i}] must be an object`);
      named = false;
      return;
    }
    let self = `container '${container.name}'`;
    if (typeof container.name !== "string" || !container.name) {
      problems.push(`${where}: spec.containers[${i}] needs a name`);
      self = `spec.containers[${i}]`;
      named = false;
    } else if (!isDnsLabel(container.name)) {
      problems.push(
        `${where}: container name '${container.name}' is not a DNS-1123 label (at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit), which the API server requires`,
      );
    } else if (names.has(container.name)) {
      problems.push(`${where}: container name '${container.name}' is used twice`);
    }
    names.add(container.name as string);
    if (typeof container.image !== "string" || !container.image) {
      problems.push(`${where}: ${self} needs an image`);
    }
    resourceProblems(container.resources, `${where}: ${self}`, problems);
  });
  if (!named) return undefined;
  return { labels, annotations, spec };
}

/**
 * The checks of a container's resources that the API server makes and that are certain offline:
 * every amount a quantity, none negative, no request above its limit.
 */
function resourceProblems(value: unknown, where: string, problems: string[]): void {
  if (value === undefined) return;
  if (!isObject(value)) {
    problems.push(`${where}: resources must be an object with requests and limits`);
    return;
  }
  const amounts: Record<"requests" | "limits", Map<string, number>> = {
    requests: new Map(),
    limits: new Map(),
  };
  for (const kind of ["requests", "limits"] as const) {
    const entries = value[kind];
    if (entries === undefined) continue;
    if (!isObject(entries)) {
      problems.push(`${where}: resources.${kind} must map resource names to quantities`);
      continue;
    }
    for (const [resource, quantity] of Object.entries(entries)) {
      const amount =
        (typeof quantity === "string" && quantity === quantity.trim()) ||
        typeof quantity === "number"
          ? parseQuantity(quantity)
          : undefined;
      if (amount === undefined) {
        problems.push(
          `${where}: resources.${kind}.${resource} ${JSON.stringify(quantity)} is not a quantity (like "500m", "2", "4Gi")`,
        );
      } else if (amount < 0) {
        problems.push(`${where}: resources.${kind}.${resource} must not be negative`);
      } else amounts[kind].set(resource, amount);
    }
  }
  for (const [resource, request] of amounts.requests) {
    const limit = amounts.limits.get(resource);
    if (limit !== undefined && request > limit) {
      problems.push(
        `${where}: resources.requests.${resource} must be less than or equal to its limit`,
      );
    }
  }
}

/**
 * Each resource's requests summed over the containers, a container's limit standing in for a
 * request it does not give (as Kubernetes defaults it).
 */
function requested(spec: Record<string, unknown>): Map<string, number> {
  const totals = new Map<string, number>();
  for (const container of spec.containers as Record<string, unknown>[]) {
    const resources = isObject(container.resources) ? container.resources : {};
    const requests = isObject(resources.requests) ? resources.requests : {};
    const limits = isObject(resources.limits) ? resources.limits : {};
    for (const resource of new Set([...Object.keys(requests), ...Object.keys(limits)])) {
      const quantity = requests[resource] ?? limits[resource];
      if (typeof quantity !== "string" && typeof quantity !== "number") continue;
      const value = parseQuantity(quantity);
      if (value !== undefined) totals.set(resource, (totals.get(resource) ?? 0) + value);
    }
  }
  return totals;
}

/** The attributes HostFactory always gets; an extended resource never derives one of these. */
const RESERVED_ATTRIBUTES = new Set(["type", "ncpus", "ncores", "nram"]);

/**
 * The numeric attribute an extended resource request derives, or undefined for a resource that
 * is not extended (Kubernetes' rule: a name with a domain outside kubernetes.io, not a quota's
 * `requests.` name). GPUs from any vendor's device plugin (`<vendor>/gpu`, Intel's
 * `gpu.intel.com/<kind>`) are `ngpus`, the name EGO and LSF give GPUs; any other is `n` and the
 * name after its domain, every character other than a letter, digit or `_` made `_`
 * (`xilinx.com/fpga` → `nfpga`).
 */
export function extendedResourceAttribute(resource: string): string | undefined {
  const slash = resource.lastIndexOf("/");
  if (slash < 0 || resource.includes("kubernetes.io/") || resource.startsWith("requests.")) {
    return undefined;
  }
  const domain = resource.slice(0, slash);
  const name = resource.slice(slash + 1);
  if (name === "gpu" || domain === "gpu.intel.com") return "ngpus";
  const attribute = `n${name.replace(/[^A-Za-z0-9_]/g, "_")}`;
  return RESERVED_ATTRIBUTES.has(attribute) ? undefined : attribute;
}

function attributes(
  value: unknown,
  pod: PodTemplate | undefined,
  where: string,
  problems: string[],
): Record<string, Attribute> {
  const result: Record<string, Attribute> = {};
  if (value !== undefined && !isObject(value)) {
    problems.push(`${where}.attributes: expected an object of [type, value] pairs`);
  }
  for (const [name, pair] of Object.entries(isObject(value) ? value : {})) {
    const [type, raw] = Array.isArray(pair) ? pair : [];
    if (pair === undefined || !Array.isArray(pair) || pair.length !== 2) {
      problems.push(`${where}.attributes.${name}: expected [type, value], e.g. ["Numeric", "4"]`);
    } else if (type !== "String" && type !== "Numeric") {
      problems.push(
        `${where}.attributes.${name}: type must be "String" or "Numeric", found ${JSON.stringify(type)}`,
      );
    } else if (typeof raw !== "string" && typeof raw !== "number") {
      problems.push(`${where}.attributes.${name}: value must be a string`);
    } else if (type === "Numeric" && !Number.isFinite(Number(raw))) {
      problems.push(
        `${where}.attributes.${name}: Numeric value ${JSON.stringify(raw)} is not a number`,
      );
    } else {
      result[name] = { type, value: String(raw) };
    }
  }
  result.type ??= { type: "String", value: "X86_64" };
  if (pod) {
    const amounts = requested(pod.spec);
    const cpu = amounts.get("cpu");
    const memory = amounts.get("memory");
    if (!result.ncpus && cpu !== undefined) {
      result.ncpus = { type: "Numeric", value: String(Math.max(1, Math.ceil(cpu))) };
    }
    if (!result.ncores && result.ncpus) result.ncores = { ...result.ncpus };
    if (!result.nram && memory !== undefined) {
      result.nram = { type: "Numeric", value: String(Math.ceil(memory / MIB)) };
    }
    // Two resources that derive one attribute (two vendors' GPUs) add up.
    const extended = new Map<string, number>();
    for (const [resource, amount] of amounts) {
      const attribute = extendedResourceAttribute(resource);
      if (attribute && amount > 0) extended.set(attribute, (extended.get(attribute) ?? 0) + amount);
    }
    for (const [attribute, amount] of extended) {
      result[attribute] ??= { type: "Numeric", value: String(Math.ceil(amount)) };
    }
  }
  for (const required of ["ncpus", "nram"]) {
    if (!result[required] && pod) {
      problems.push(
        `${where}.attributes.${required}: not given, and the pod requests no ${required === "ncpus" ? "cpu" : "memory"} to derive it from`,
      );
    }
  }
  return result;
}

function template(
  value: unknown,
  where: string,
  readPodFile: PodFileReader,
  defaults: TemplateDefaults,
  problems: string[],
): Template | undefined {
  if (!isObject(value)) {
    problems.push(`${where}: expected an object`);
    return undefined;
  }
  const id = value.templateId;
  const validId = typeof id === "string" && TEMPLATE_ID.test(id);
  if (!validId) {
    problems.push(
      `${where}.templateId: expected 1-63 letters, digits, '-', '_' or '.' starting and ending with a letter or digit, found ${JSON.stringify(id)}`,
    );
  }
  // The rest is checked too, named by the template's place in the file when its id is bad.
  const at = validId ? `template '${id}'` : where;
  for (const key of Object.keys(value)) {
    if (!KNOWN_KEYS.has(key)) problems.push(`${at}: unknown key '${key}'`);
  }
  const maxNumber = value.maxNumber;
  if (!Number.isInteger(maxNumber) || (maxNumber as number) < -1 || maxNumber === 0) {
    problems.push(`${at}.maxNumber: expected a positive integer or -1 (unlimited)`);
  }

  let pod: PodTemplate | undefined;
  if ((value.podSpec === undefined) === (value.podSpecFile === undefined)) {
    problems.push(`${at}: give exactly one of podSpec (inline) or podSpecFile (a YAML file)`);
  } else if (value.podSpec !== undefined) {
    pod = podTemplate(value.podSpec, `${at}.podSpec`, problems);
  } else if (typeof value.podSpecFile !== "string" || value.podSpecFile === "") {
    problems.push(`${at}.podSpecFile: expected a file name`);
  } else {
    try {
      pod = podTemplate(readPodFile(value.podSpecFile), `${at}.podSpecFile`, problems);
    } catch (error) {
      problems.push(`${at}.podSpecFile: ${(error as Error).message}`);
    }
  }

  const timeout = value.pendingTimeoutSeconds ?? defaults.pendingTimeoutSeconds;
  if (!Number.isInteger(timeout) || (timeout as number) < 1) {
    problems.push(`${at}.pendingTimeoutSeconds: expected a positive integer number of seconds`);
  }
  const subdomain = value.subdomain;
  if (subdomain !== undefined && (typeof subdomain !== "string" || !isDnsLabel(subdomain))) {
    problems.push(`${at}.subdomain: expected the name of a headless Service (a DNS label)`);
  }
  const hostnameStyle = value.hostnameStyle ?? "short";
  if (hostnameStyle !== "short" && hostnameStyle !== "fqdn") {
    problems.push(`${at}.hostnameStyle: expected "short" or "fqdn"`);
  } else if (hostnameStyle === "fqdn" && subdomain === undefined) {
    problems.push(`${at}.hostnameStyle: "fqdn" needs a subdomain (a headless Service)`);
  }
  const drainPolicy = value.drainPolicy ?? "immediate";
  if (!DRAIN_POLICIES.includes(drainPolicy as DrainPolicy)) {
    problems.push(
      `${at}.drainPolicy: expected "immediate" (evictions proceed) or "cooperative" (hosts are protected until HostFactory returns them), found ${JSON.stringify(drainPolicy)}`,
    );
  } else if (drainPolicy === "cooperative" && defaults.watchNodes === false) {
    problems.push(
      `${at}.drainPolicy: "cooperative" needs the sidecar to watch nodes (--watch-nodes, the chart's watchNodes), or no host on a draining node is ever reported and the drain waits for good`,
    );
  }
  const attributeSet = attributes(value.attributes, pod, at, problems);
  if (!validId) return undefined;
  return {
    templateId: id,
    maxNumber: maxNumber as number,
    attributes: attributeSet,
    pod: pod as PodTemplate,
    pendingTimeoutSeconds: timeout as number,
    ...(typeof subdomain === "string" ? { subdomain } : {}),
    hostnameStyle: hostnameStyle as Template["hostnameStyle"],
    drainPolicy: drainPolicy as DrainPolicy,
  };
}

/**
 * Validates a whole templates document (`{"templates": [...]}`) and returns its templates in
 * order, or throws a TemplateError listing every problem.
 */
export function parseTemplates(
  document: unknown,
  readPodFile: PodFileReader,
  defaults: TemplateDefaults = { pendingTimeoutSeconds: DEFAULT_PENDING_TIMEOUT_SECONDS },
): Template[] {
  const problems: string[] = [];
  const list = isObject(document) ? document.templates : undefined;
  if (!Array.isArray(list)) throw new TemplateError(['expected {"templates": [ ... ]}']);
  if (list.length === 0) {
    throw new TemplateError(["no templates: HostFactory needs at least one"]);
  }
  const templates: Template[] = [];
  const seen = new Set<string>();
  list.forEach((value, i) => {
    const parsed = template(value, `templates[${i}]`, readPodFile, defaults, problems);
    if (!parsed) return;
    if (seen.has(parsed.templateId)) {
      problems.push(`template '${parsed.templateId}': templateId used more than once`);
    }
    seen.add(parsed.templateId);
    templates.push(parsed);
  });
  if (problems.length > 0) throw new TemplateError(problems);
  return templates;
}
