// What the AdminService handlers share: this replica's settings, the caches and services they
// answer from, and their checks of what an operator typed.

import type { ClusterState } from "../controller/cluster-state.ts";
import type { ClusterReads } from "../kube/cluster-reads.ts";
import type { LeaderElector } from "../kube/leader-election.ts";
import { excerpt, ProviderError } from "../provider/errors.ts";
import { requestKindOf } from "../provider/naming.ts";
import type { ReferenceLookup } from "../provider/template-references.ts";
import type { TemplatesSource } from "../templates-source.ts";
import type { HandlerRecords } from "./provider-context.ts";
import type { ProviderService } from "./provider-service.ts";

export interface AdminSettings {
  /** This replica's identity (as on the Lease). */
  identity: string;
  instance: string;
  namespace: string;
  podNamePrefix: string;
  leaderElect: boolean;
  leaseName: string;
  watchNodes: boolean;
  watchQuotas: boolean;
  templatesFile: string;
}

/** What a cache reports about itself. */
interface CacheInfo {
  readonly synced: boolean;
  readonly size: number;
}

export interface AdminContext {
  /** Request statuses and template availability, exactly as HostFactory gets them. */
  service: ProviderService;
  state: ClusterState;
  templates: TemplatesSource;
  /** For a record another replica just stored and this one has not yet watched. */
  records: HandlerRecords;
  caches: Record<string, CacheInfo | undefined>;
  cluster: ClusterReads;
  /** Finds the objects the templates name. */
  references: ReferenceLookup;
  /** The leader elector, once there is one (it starts after the caches are synced). */
  elector: () => LeaderElector | undefined;
  /** Orphan pods as this replica's reconciler counts them. */
  orphans: () => number;
}

export function invalid(message: string): ProviderError {
  return new ProviderError("invalid-argument", message);
}

export function checkRequestId(requestId: string): void {
  if (!requestKindOf(requestId)) {
    throw invalid(
      `'${excerpt(requestId)}' is not a request id: expected req- or ret- followed by ten lowercase letters or digits`,
    );
  }
}
