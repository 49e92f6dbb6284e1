// What an elector knows and tells: the Lease as last observed and who holds it, and whether this
// replica leads. The callbacks hear of each change; what they throw is logged and the election
// goes on.

import type { V1Lease } from "@kubernetes/client-node";
import { holderOf } from "./lease-record.ts";
import type { Logger } from "./logger.ts";

export interface LeaseObserver {
  /** Takes note of the lease as just read or written. */
  observe(lease: V1Lease): void;
  /** The lease as last read or written. */
  readonly lease: V1Lease | undefined;
  /** The holder last observed on the lease; "" when none. */
  readonly leader: string;
  /** performance.now() when the lease was last seen to change. */
  readonly changedAt: number;
}

export function createLeaseObserver(
  onNewLeader: ((identity: string) => void) | undefined,
  logger: Logger,
  fields: object,
): LeaseObserver {
  let lease: V1Lease | undefined;
  let observedVersion: string | undefined;
  let changedAt = 0;
  let leader = "";
  return {
    observe(current) {
      lease = current;
      const version = current.metadata?.resourceVersion;
      if (version !== observedVersion) {
        observedVersion = version;
        changedAt = performance.now();
      }
      const holder = holderOf(current);
      if (holder === leader) return;
      leader = holder;
      logger.info({ ...fields, leader: holder }, "lease holder changed");
      notify(logger, fields, "onNewLeader", () => onNewLeader?.(holder));
    },
    get lease() {
      return lease;
    },
    get leader() {
      return leader;
    },
    get changedAt() {
      return changedAt;
    },
  };
}

export interface LeadershipCallbacks {
  onStartedLeading?: (signal: AbortSignal) => void;
  onStoppedLeading?: () => void;
}

export interface Leadership {
  readonly isLeader: boolean;
  /** Leads from now on; onStartedLeading gets a signal that aborts when leadership ends. */
  start(): void;
  stop(why: string): void;
}

export function createLeadership(
  callbacks: LeadershipCallbacks,
  logger: Logger,
  fields: object,
): Leadership {
  let isLeader = false;
  let leading: AbortController | undefined;
  return {
    get isLeader() {
      return isLeader;
    },
    start() {
      isLeader = true;
      const controller = new AbortController();
      leading = controller;
      logger.info(fields, "started leading");
      notify(logger, fields, "onStartedLeading", () =>
        callbacks.onStartedLeading?.(controller.signal),
      );
    },
    stop(why) {
      isLeader = false;
      leading?.abort(new Error(`leadership lost: ${why}`));
      logger.info({ ...fields, why }, "stopped leading");
      notify(logger, fields, "onStoppedLeading", () => callbacks.onStoppedLeading?.());
    },
  };
}

function notify(logger: Logger, fields: object, callback: string, call: () => void): void {
  try {
    call();
  } catch (error) {
    logger.error({ ...fields, err: error }, `${callback} threw`);
  }
}
