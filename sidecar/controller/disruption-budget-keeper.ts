// Keeps the instance's PodDisruptionBudget in place while any template is cooperative, on the
// leader only: made when a replica starts leading or a template turns cooperative, checked again
// every so often (someone may delete or edit it), and retried with backoff when the API server
// refuses. When no template is cooperative any more it is left as it is: it keeps protecting the
// cooperative hosts still running, and selects nothing once they are gone.
import type { Logger } from "pino";
import type { Template } from "../../templates/parse.ts";
import { equalJitterDelayMs } from "../kube/backoff.ts";
import type { DisruptionBudget } from "../kube/disruption-budget.ts";

/** How often the leader checks the budget is still as it made it. */
export const BUDGET_RECHECK_MS = 60_000;
/** Backoff after a failed check: doubling from this, up to BUDGET_RECHECK_MS. */
const RETRY_BASE_MS = 1_000;

export interface DisruptionBudgetKeeperOptions {
  budget: DisruptionBudget;
  templates: { readonly templates: Template[] };
  logger: Logger;
  /** Default {@link BUDGET_RECHECK_MS}. */
  recheckMs?: number;
}

export interface DisruptionBudgetKeeper {
  /** Checks now and every so often, while this replica leads. */
  start(): void;
  stop(): void;
  /** The templates changed: check now (a template may have turned cooperative). */
  templatesChanged(): void;
  /** Settles once the check under way (if any) is over; for tests and shutdown. */
  idle(): Promise<void>;
}

export function createDisruptionBudgetKeeper(
  options: DisruptionBudgetKeeperOptions,
): DisruptionBudgetKeeper {
  const { budget, templates, logger } = options;
  const recheckMs = options.recheckMs ?? BUDGET_RECHECK_MS;
  let running = false;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  let checking: Promise<void> = Promise.resolve();

  const schedule = (delayMs: number) => {
    clearTimeout(timer);
    if (running) timer = setTimeout(check, delayMs);
  };
  const once = async (): Promise<void> => {
    if (!templates.templates.some((t) => t.drainPolicy === "cooperative")) {
      schedule(recheckMs);
      return;
    }
    try {
      const outcome = await budget.ensure();
      if (outcome !== "unchanged") {
        logger.info({ podDisruptionBudget: budget.name, outcome }, "cooperative hosts protected");
      }
      failures = 0;
      schedule(recheckMs);
    } catch (error) {
      const delayMs = equalJitterDelayMs(failures++, RETRY_BASE_MS, recheckMs);
      logger.warn(
        { podDisruptionBudget: budget.name, err: (error as Error).message, retryInMs: delayMs },
        "cannot keep the PodDisruptionBudget of cooperative hosts; evictions are not held back",
      );
      schedule(delayMs);
    }
  };
  function check() {
    if (!running) return;
    checking = checking.then(once);
  }

  return {
    start() {
      if (running) return;
      running = true;
      failures = 0;
      check();
    },
    stop() {
      running = false;
      clearTimeout(timer);
      timer = undefined;
    },
    templatesChanged: check,
    idle: () => checking,
  };
}
