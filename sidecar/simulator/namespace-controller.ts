import { NAMESPACES, RESOURCES } from "./resources.ts";
import type { RestApi } from "./rest-api.ts";
import type { Store } from "./store.ts";

/**
 * The namespace controller: a namespace being deleted (phase Terminating) has its content
 * deleted, and is removed once nothing is left in it.
 */
export function createNamespaceController(store: Store, api: RestApi): void {
  const namespaced = RESOURCES.filter((info) => info.namespaced);

  const terminating = (namespace: string) =>
    store.get(NAMESPACES.name, "", namespace)?.metadata.deletionTimestamp !== undefined;

  const removeIfEmpty = (namespace: string) => {
    if (!terminating(namespace)) return;
    if (namespaced.every((info) => store.count(info.name, namespace) === 0)) {
      store.delete(NAMESPACES.name, "", namespace);
    }
  };

  const deleteContent = (namespace: string) => {
    if (!terminating(namespace)) return;
    for (const info of namespaced) {
      for (const object of store.list(info.name, namespace)) {
        if (object.metadata.deletionTimestamp) continue;
        try {
          api.delete(info, namespace, object.metadata.name as string);
        } catch {
          // Gone meanwhile: nothing to delete.
        }
      }
    }
    removeIfEmpty(namespace);
  };

  store.subscribe(NAMESPACES.name, (event) => {
    const name = event.object.metadata.name as string;
    if (event.type !== "DELETED" && event.object.metadata.deletionTimestamp) {
      queueMicrotask(() => deleteContent(name));
    }
  });
  for (const info of namespaced) {
    store.subscribe(info.name, (event) => {
      const namespace = event.object.metadata.namespace as string;
      if (event.type === "DELETED" && terminating(namespace))
        queueMicrotask(() => removeIfEmpty(namespace));
    });
  }
}
