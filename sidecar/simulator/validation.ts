import { isDeepStrictEqual } from "node:util";
import { labelKeyError, labelValueError } from "./label-selector.ts";
import type { KubeObject, Pod } from "./object-types.ts";
import type { ResourceInfo } from "./resources.ts";
import type { FieldCause } from "./status-error.ts";

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const SUBDOMAIN_MESSAGE =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MESSAGE =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

function invalidValue(field: string, value: unknown, why: string): FieldCause {
  return {
    reason: "FieldValueInvalid",
    field,
    message: `Invalid value: ${JSON.stringify(value)}: ${why}`,
  };
}

function required(field: string, why?: string): FieldCause {
  return {
    reason: "FieldValueRequired",
    field,
    message: why ? `Required value: ${why}` : "Required value",
  };
}

/** Why `name` is not valid under `rule`, or undefined. */
export function nameError(name: string, rule: ResourceInfo["nameRule"]): string | undefined {
  if (rule === "path-segment") {
    if (name === "." || name === "..") return `may not be '${name}'`;
    if (/[/%]/.test(name)) return "may not contain '/' or '%'";
    return undefined;
  }
  if (rule === "label") {
    if (name.length > 63) return "must be no more than 63 characters";
    return DNS1123_LABEL.test(name) ? undefined : LABEL_MESSAGE;
  }
  if (name.length > 253) return "must be no more than 253 characters";
  return DNS1123_SUBDOMAIN.test(name) ? undefined : SUBDOMAIN_MESSAGE;
}

/** Validation of metadata common to all resources (name, labels, annotations). */
export function validateMetadata(object: KubeObject, info: ResourceInfo): FieldCause[] {
  const causes: FieldCause[] = [];
  const { name, generateName, labels, annotations } = object.metadata;
  if (!name) {
    causes.push(required("metadata.name", "name or generateName is required"));
  } else {
    const why = nameError(name, info.nameRule);
    if (why) causes.push(invalidValue("metadata.name", name, why));
  }
  if (generateName && !name) {
    const why = nameError(generateName.replace(/-$/, "a"), info.nameRule);
    if (why) causes.push(invalidValue("metadata.generateName", generateName, why));
  }
  for (const [key, value] of Object.entries(labels ?? {})) {
    const keyWhy = labelKeyError(key);
    if (keyWhy) causes.push(invalidValue("metadata.labels", key, keyWhy));
    const valueWhy = typeof value === "string" ? labelValueError(value) : "must be a string";
    if (valueWhy) causes.push(invalidValue(`metadata.labels`, value, valueWhy));
  }
  for (const key of Object.keys(annotations ?? {})) {
    const keyWhy = labelKeyError(key);
    if (keyWhy) causes.push(invalidValue("metadata.annotations", key, keyWhy));
  }
  return causes;
}

/** Validation of a pod spec on create. */
export function validatePodSpec(pod: Pod): FieldCause[] {
  const causes: FieldCause[] = [];
  const containers = pod.spec?.containers;
  if (!Array.isArray(containers) || containers.length === 0) {
    causes.push(required("spec.containers"));
    return causes;
  }
  const seen = new Set<string>();
  containers.forEach((container, index) => {
    const field = `spec.containers[${index}]`;
    if (!container.name) {
      causes.push(required(`${field}.name`));
    } else {
      if (!DNS1123_LABEL.test(container.name) || container.name.length > 63) {
        causes.push(invalidValue(`${field}.name`, container.name, LABEL_MESSAGE));
      }
      if (seen.has(container.name)) {
        causes.push({
          reason: "FieldValueDuplicate",
          field: `${field}.name`,
          message: `Duplicate value: ${JSON.stringify(container.name)}`,
        });
      }
      seen.add(container.name);
    }
    if (!container.image) causes.push(required(`${field}.image`));
  });
  const grace = pod.spec.terminationGracePeriodSeconds;
  if (grace !== undefined && (!Number.isInteger(grace) || grace < 0)) {
    causes.push(
      invalidValue(
        "spec.terminationGracePeriodSeconds",
        grace,
        "must be greater than or equal to 0",
      ),
    );
  }
  return causes;
}

/** The pod spec fields a running pod may change (everything else is immutable). */
function mutablePodSpecView(pod: Pod): unknown {
  const { containers, initContainers, activeDeadlineSeconds, tolerations, ...rest } = pod.spec;
  return {
    ...rest,
    containers: containers?.map(({ image, ...container }) => container),
    initContainers: initContainers?.map(({ image, ...container }) => container),
  };
}

/** Update validation of a pod: only images, activeDeadlineSeconds and tolerations may change. */
export function validatePodUpdate(next: Pod, previous: Pod): FieldCause[] {
  if (isDeepStrictEqual(mutablePodSpecView(next), mutablePodSpecView(previous))) {
    return [];
  }
  return [
    {
      reason: "FieldValueForbidden",
      field: "spec",
      message:
        "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
    },
  ];
}
