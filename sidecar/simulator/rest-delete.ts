import type { KubeObject, Pod } from "./object-types.ts";
import { podGracePeriodSeconds } from "./pod-strategy.ts";
import { NAMESPACES, namespaceOf, PODS, type ResourceInfo } from "./resources.ts";
import { getObject } from "./rest-object.ts";
import { conflict } from "./status-error.ts";
import { rfc3339, type Store } from "./store.ts";
import { thaw } from "./store-event.ts";

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: "Orphan" | "Background" | "Foreground";
  orphanDependents?: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: string[];
}

export interface DeleteResult {
  /** The object as it now is (terminating) or as it was when removed. */
  object: KubeObject;
  /** True when the object is gone from the store. */
  removed: boolean;
}

function checkPreconditions(info: ResourceInfo, current: KubeObject, options: DeleteOptions) {
  const { preconditions } = options;
  const name = current.metadata.name as string;
  if (preconditions?.uid && preconditions.uid !== current.metadata.uid) {
    throw conflict(
      info.qualified,
      name,
      `Precondition failed: UID in precondition: ${preconditions.uid}, UID in object meta: ${current.metadata.uid}`,
      info.group,
    );
  }
  if (
    preconditions?.resourceVersion &&
    preconditions.resourceVersion !== current.metadata.resourceVersion
  ) {
    throw conflict(
      info.qualified,
      name,
      `Precondition failed: ResourceVersion in precondition: ${preconditions.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`,
      info.group,
    );
  }
}

/** The object's finalizers, plus the one its propagation policy asks for on a first delete. */
function finalizersAfterDelete(current: KubeObject, options: DeleteOptions): string[] {
  const finalizers = [...(current.metadata.finalizers ?? [])];
  const policy = options.propagationPolicy ?? (options.orphanDependents ? "Orphan" : undefined);
  const policyFinalizer =
    policy === "Orphan" ? "orphan" : policy === "Foreground" ? "foregroundDeletion" : undefined;
  if (
    policyFinalizer &&
    !current.metadata.deletionTimestamp &&
    !finalizers.includes(policyFinalizer)
  ) {
    finalizers.push(policyFinalizer);
  }
  return finalizers;
}

/** The namespace controller empties the namespace, then removes it. */
function terminateNamespace(
  store: Store,
  now: () => Date,
  current: KubeObject,
  dryRun: boolean,
): DeleteResult {
  if (current.metadata.deletionTimestamp || dryRun) return { object: current, removed: false };
  const terminating = thaw(current);
  terminating.metadata.deletionTimestamp = rfc3339(now());
  terminating.metadata.deletionGracePeriodSeconds = 0;
  terminating.status = { ...(terminating.status as object), phase: "Terminating" };
  return { object: store.put(NAMESPACES.name, terminating), removed: false };
}

export function deleteObject(
  store: Store,
  now: () => Date,
  info: ResourceInfo,
  namespace: string,
  name: string,
  options: DeleteOptions = {},
): DeleteResult {
  const current = getObject(store, info, namespace, name);
  checkPreconditions(info, current, options);
  const dryRun = options.dryRun?.includes("All") ?? false;
  const grace =
    info === PODS ? podGracePeriodSeconds(current as Pod, options.gracePeriodSeconds) : 0;
  const finalizers = finalizersAfterDelete(current, options);
  if (info === NAMESPACES) return terminateNamespace(store, now, current, dryRun);
  const alreadyTerminating = current.metadata.deletionTimestamp !== undefined;
  const remaining = current.metadata.deletionGracePeriodSeconds ?? 0;
  if (grace === 0 && finalizers.length === 0) {
    if (dryRun) return { object: current, removed: true };
    const last = store.delete(info.name, namespaceOf(current), name) ?? current;
    return { object: last, removed: true };
  }
  // A repeated delete changes nothing unless it shortens the grace period or adds a finalizer.
  if (
    alreadyTerminating &&
    grace >= remaining &&
    finalizers.length === (current.metadata.finalizers?.length ?? 0)
  ) {
    return { object: current, removed: false };
  }
  const terminating = thaw(current);
  const deadline = new Date(now().getTime() + grace * 1000);
  terminating.metadata.deletionTimestamp = rfc3339(deadline);
  terminating.metadata.deletionGracePeriodSeconds = grace;
  if (finalizers.length > 0) terminating.metadata.finalizers = finalizers;
  if (dryRun) return { object: terminating, removed: false };
  return { object: store.put(info.name, terminating), removed: false };
}
