import type { KubeObject } from "./object-types.ts";
import { MERGE_PATCH } from "./patch.ts";
import { namespaceOf, RESOURCES, resourceNamed } from "./resources.ts";
import type { RestApi } from "./rest-api.ts";
import type { Store } from "./store.ts";

/**
 * The garbage collector, for owners and dependents among the served resources: when an owner
 * goes, its dependents (objects whose ownerReferences name its uid) are deleted in the
 * background; an owner deleted with propagationPolicy Foreground has its dependents deleted and
 * waits (finalizer foregroundDeletion) until those whose reference to it says
 * blockOwnerDeletion are gone, as the real garbage collector waits for those alone; one deleted
 * with Orphan (finalizer orphan) has its dependents' references to it removed first.
 */

const FOREGROUND = "foregroundDeletion";
const ORPHAN = "orphan";

interface Ref {
  resource: string;
  namespace: string;
  name: string;
}

export function createGarbageCollector(store: Store, api: RestApi): void {
  /** Owner uid → dependents ("resource/namespace/name"). */
  const dependents = new Map<string, Set<string>>();
  /** Every stored object, by uid (to tell whether another owner still exists). */
  const byUid = new Map<string, Ref>();
  /** Owners being deleted in the foreground, by uid. */
  const foreground = new Map<string, Ref>();

  const keyOf = (ref: Ref) => `${ref.resource}/${ref.namespace}/${ref.name}`;
  const parse = (key: string): Ref => {
    const [resource = "", namespace = "", ...name] = key.split("/");
    return { resource, namespace, name: name.join("/") };
  };
  const refOf = (resource: string, object: KubeObject): Ref => ({
    resource,
    namespace: namespaceOf(object),
    name: object.metadata.name as string,
  });
  const lookup = (ref: Ref) => store.get(ref.resource, ref.namespace, ref.name);

  const index = (key: string, object: KubeObject | undefined, add: boolean) => {
    for (const owner of object?.metadata.ownerReferences ?? []) {
      let set = dependents.get(owner.uid);
      if (add) {
        if (!set) {
          set = new Set();
          dependents.set(owner.uid, set);
        }
        set.add(key);
      } else if (set) {
        set.delete(key);
        if (set.size === 0) dependents.delete(owner.uid);
      }
    }
  };

  const removeFinalizer = (ref: Ref, finalizer: string) => {
    const object = lookup(ref);
    if (!object?.metadata.finalizers?.includes(finalizer)) return;
    const finalizers = object.metadata.finalizers.filter((candidate) => candidate !== finalizer);
    api.patch(resourceNamed(ref.resource), ref.namespace, ref.name, MERGE_PATCH, {
      metadata: { finalizers: finalizers.length > 0 ? finalizers : null },
    });
  };

  const deleteQuietly = (ref: Ref, propagationPolicy: "Background" | "Foreground") => {
    const object = lookup(ref);
    if (!object || object.metadata.deletionTimestamp) return;
    try {
      api.delete(resourceNamed(ref.resource), ref.namespace, ref.name, { propagationPolicy });
    } catch {
      // Gone meanwhile.
    }
  };

  const liveDependents = (uid: string) =>
    [...(dependents.get(uid) ?? [])].map(parse).filter((ref) => lookup(ref) !== undefined);

  const process = (ref: Ref) => {
    const owner = lookup(ref);
    if (!owner?.metadata.deletionTimestamp) return;
    const uid = owner.metadata.uid as string;
    const finalizers = owner.metadata.finalizers ?? [];
    if (finalizers.includes(ORPHAN)) {
      for (const dependent of liveDependents(uid)) {
        const object = lookup(dependent) as KubeObject;
        const remaining = (object.metadata.ownerReferences ?? []).filter(
          (reference) => reference.uid !== uid,
        );
        api.patch(
          resourceNamed(dependent.resource),
          dependent.namespace,
          dependent.name,
          MERGE_PATCH,
          {
            metadata: { ownerReferences: remaining.length > 0 ? remaining : null },
          },
        );
      }
      removeFinalizer(ref, ORPHAN);
    } else if (finalizers.includes(FOREGROUND)) {
      const live = liveDependents(uid);
      for (const dependent of live) deleteQuietly(dependent, "Foreground");
      const blocking = live.filter((dependent) =>
        lookup(dependent)?.metadata.ownerReferences?.some(
          (reference) => reference.uid === uid && reference.blockOwnerDeletion === true,
        ),
      );
      if (blocking.length === 0) {
        foreground.delete(uid);
        removeFinalizer(ref, FOREGROUND);
      } else {
        foreground.set(uid, ref);
      }
    }
  };

  for (const info of RESOURCES) {
    store.subscribe(info.name, (event) => {
      const ref = refOf(info.name, event.object);
      const key = keyOf(ref);
      index(key, event.previous, false);
      if (event.type !== "DELETED") index(key, event.object, true);
      const { finalizers, deletionTimestamp, uid } = event.object.metadata;
      if (event.type === "DELETED") byUid.delete(uid as string);
      else byUid.set(uid as string, ref);
      if (
        event.type !== "DELETED" &&
        deletionTimestamp &&
        (finalizers?.includes(FOREGROUND) || finalizers?.includes(ORPHAN))
      ) {
        queueMicrotask(() => process(ref));
      }
      if (event.type === "DELETED") {
        // Background deletion of what this object owned, and progress for foreground owners.
        const owned = liveDependents(uid as string);
        if (owned.length > 0)
          queueMicrotask(() => {
            for (const dependent of owned) {
              const object = lookup(dependent);
              const otherOwners = (object?.metadata.ownerReferences ?? []).filter(
                (reference) => reference.uid !== uid && byUid.has(reference.uid),
              );
              if (otherOwners.length === 0) deleteQuietly(dependent, "Background");
            }
          });
        for (const owner of event.object.metadata.ownerReferences ?? []) {
          const waiting = foreground.get(owner.uid);
          if (waiting) queueMicrotask(() => process(waiting));
        }
      }
    });
  }
}
