// The Kubernetes permissions the sidecar needs, one per kind of call it makes, so that
// CheckPermissions can ask the API server about each (SelfSubjectAccessReview) and `hostfactory
// doctor` can say what is missing and why it matters. It follows the sidecar's configuration:
// leader election adds the Lease, --watch-nodes the nodes, --watch-quotas the ResourceQuotas. The chart's Role grants the same
// (test/admin/permissions.test.ts holds both to it).
import { disruptionBudgetName } from "../kube/disruption-budget.ts";

export interface Permission {
  verb: "get" | "list" | "watch" | "create" | "update" | "patch" | "delete";
  /** "" for core. */
  group: string;
  resource: string;
  /** "" for a cluster-scoped resource. */
  namespace: string;
  /** The one object the permission may be limited to; "" for any. */
  name: string;
  /** What the sidecar makes the call for, in an operator's words. */
  purpose: string;
  /** false: only an optional feature goes without (the sidecar still provides machines). */
  required: boolean;
}

export interface PermissionSettings {
  namespace: string;
  instance: string;
  leaderElect: boolean;
  leaseName: string;
  watchNodes: boolean;
  watchQuotas: boolean;
}

export function sidecarPermissions(settings: PermissionSettings): Permission[] {
  const { namespace } = settings;
  const core = (
    verb: Permission["verb"],
    resource: string,
    purpose: string,
    required = true,
  ): Permission => ({ verb, group: "", resource, namespace, name: "", purpose, required });
  const permissions: Permission[] = [
    core("list", "pods", "the pod cache lists the machines"),
    core("watch", "pods", "the pod cache follows the machines"),
    core("create", "pods", "the reconciler creates a pod per machine"),
    core("delete", "pods", "the reconciler deletes returned, failed and orphan pods"),
    core("create", "configmaps", "a request record is stored before its id is handed out"),
    core("get", "configmaps", "a record another replica just stored is read back"),
    core("list", "configmaps", "the record cache lists the requests"),
    core("watch", "configmaps", "the record cache follows the requests"),
    core("patch", "configmaps", "the reconciler records failures and completion"),
    core("delete", "configmaps", "expired request records are removed"),
    core("create", "events", "Events on request records (kubectl describe)", false),
    core(
      "list",
      "events",
      "the timeline of `hostfactory request`; who preempted a host (its Preempted Event)",
      false,
    ),
    core(
      "get",
      "serviceaccounts",
      "`hostfactory doctor` reports a template's ServiceAccount that does not exist",
      false,
    ),
    {
      verb: "get",
      group: "scheduling.k8s.io",
      resource: "priorityclasses",
      namespace: "",
      name: "",
      purpose:
        "requestMachines refuses a template whose PriorityClass does not exist, and doctor reports it",
      required: false,
    },
    {
      verb: "get",
      group: "node.k8s.io",
      resource: "runtimeclasses",
      namespace: "",
      name: "",
      purpose: "`hostfactory doctor` reports a template's RuntimeClass that does not exist",
      required: false,
    },
  ];
  // Templates can turn cooperative at any time, so these are checked whatever the templates say.
  const budget = (verb: Permission["verb"], name: string, purpose: string): Permission => ({
    verb,
    group: "policy",
    resource: "poddisruptionbudgets",
    namespace,
    name,
    purpose,
    required: false,
  });
  const budgetName = disruptionBudgetName(settings.instance);
  permissions.push(
    budget("create", "", "cooperative templates: the PodDisruptionBudget of their hosts is made"),
    budget("get", budgetName, "cooperative templates: the leader checks their PodDisruptionBudget"),
    budget(
      "update",
      budgetName,
      "cooperative templates: an edited PodDisruptionBudget is put back",
    ),
  );
  if (settings.leaderElect) {
    const lease = (verb: Permission["verb"], name: string, purpose: string): Permission => ({
      verb,
      group: "coordination.k8s.io",
      resource: "leases",
      namespace,
      name,
      purpose,
      required: true,
    });
    permissions.push(
      lease("create", "", "leader election creates its Lease the first time"),
      lease("get", settings.leaseName, "leader election reads its Lease"),
      lease("update", settings.leaseName, "leader election takes and renews its Lease"),
    );
  }
  if (settings.watchQuotas) {
    permissions.push(
      core("list", "resourcequotas", "--watch-quotas: the quota cache lists the ResourceQuotas"),
      core(
        "watch",
        "resourcequotas",
        "--watch-quotas: the quota cache follows what they still admit (availableNumber)",
      ),
    );
  }
  if (settings.watchNodes) {
    const node = (verb: Permission["verb"], purpose: string): Permission => ({
      verb,
      group: "",
      resource: "nodes",
      namespace: "",
      name: "",
      purpose,
      required: true,
    });
    permissions.push(
      node("list", "--watch-nodes: the node cache lists the nodes"),
      node("watch", "--watch-nodes: the node cache follows nodes going away"),
    );
  }
  return permissions;
}
