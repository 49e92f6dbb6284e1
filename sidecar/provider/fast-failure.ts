// Pods that waiting will not start: a container the kubelet keeps waiting for a reason the
// operator lists (an image that cannot be pulled, a missing Secret, a crash loop). Their machines
// fail with the kubelet's own words instead of at the Pending timeout. Pure: the reconciler keeps
// the clock of how long each pod has shown such a reason.
import type { PodView } from "./model.ts";

/**
 * The kubelet's waiting reasons that fail a machine by default: an image that cannot be pulled
 * (ErrImagePull and ImagePullBackOff alternate while the kubelet retries), an image name that is
 * not one, an image absent with `imagePullPolicy: Never`, a container whose Secret or ConfigMap
 * (in env or envFrom) is missing, and a container that keeps crashing.
 */
export const DEFAULT_FAIL_FAST_REASONS: readonly string[] = [
  "ErrImagePull",
  "ImagePullBackOff",
  "InvalidImageName",
  "ErrImageNeverPull",
  "CreateContainerConfigError",
  "CrashLoopBackOff",
];

/**
 * How long a pod must show listed reasons without a break before its machine fails: long enough
 * for the kubelet to try again once (its first image pull back-off is 10 s), so a registry that
 * blinks or a Secret created a moment late does not fail a machine.
 */
export const DEFAULT_FAIL_FAST_AFTER_SECONDS = 15;

export interface FailFastPolicy {
  /** The waiting reasons that fail a machine; empty turns fast failure off. */
  reasons: ReadonlySet<string>;
  /** How long, in milliseconds, a pod must show them without a break; 0 fails at first sight. */
  afterMs: number;
}

/**
 * Why the pod cannot start when one of its containers waits for a listed reason, in the
 * kubelet's words; undefined when none does, or when the pod is Ready, ended or being deleted
 * (other rules judge those).
 */
export function cannotStart(pod: PodView, reasons: ReadonlySet<string>): string | undefined {
  if (!pod.waiting || pod.deletingAt !== undefined) return undefined;
  if (pod.phase !== "Pending" && (pod.phase !== "Running" || pod.ready)) return undefined;
  for (const waiting of pod.waiting) {
    if (!reasons.has(waiting.reason)) continue;
    const container = `${waiting.init ? "init container" : "container"} "${waiting.container}"`;
    const why = waiting.message ? `${waiting.reason}: ${waiting.message}` : waiting.reason;
    return `the pod cannot start: ${container}: ${why}`;
  }
  return undefined;
}

/** A list of reasons as an option gives it: comma-separated, or `none` for an empty list. */
export function parseReasons(text: string): string[] | undefined {
  const trimmed = text.trim();
  if (trimmed === "none") return [];
  const reasons = trimmed.split(",").map((reason) => reason.trim());
  return reasons.every((reason) => /^[A-Za-z][A-Za-z0-9]*$/.test(reason)) ? reasons : undefined;
}
