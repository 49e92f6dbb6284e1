// How many more machines of a template may be asked for: maxNumber less the machines in use and
// those this replica has just accepted, or fewer where a ResourceQuota has less room.

import type { Template } from "../../templates/parse.ts";
import {
  type PodQuotaProfile,
  podQuotaProfile,
  type QuotaLimit,
  quotaHeadroom,
} from "../provider/quota.ts";
import type { ProviderContext } from "./provider-context.ts";

/** A reservation outlives its record's arrival in the cache by no more than this. */
const RESERVATION_TTL_MS = 60_000;

export interface Availability {
  /** Machines of the template that may still be asked for (-1: no limit), and the quota that
   * allows fewer than maxNumber does, if one does. */
  of(template: Template): { available: number; quota?: QuotaLimit };
  /**
   * Counts machines this replica accepted against maxNumber until the cache shows their
   * request's record, so two requests at once cannot both take the last machines.
   */
  reserve(requestId: string, templateId: string, count: number): void;
  /** Forgets the reservation of a request that was not taken. */
  unreserve(requestId: string): void;
}

export function createAvailability({ state, templates }: ProviderContext): Availability {
  const reserved = new Map<string, { templateId: string; count: number; until: number }>();
  const reservedCount = (templateId: string): number => {
    let total = 0;
    const now = Date.now();
    for (const [requestId, reservation] of reserved) {
      if (state.record(requestId) || reservation.until < now) reserved.delete(requestId);
      else if (reservation.templateId === templateId) total += reservation.count;
    }
    return total;
  };

  /** What a template's pod is to the quotas, worked out once per loaded template. */
  const profiles = new WeakMap<Template, PodQuotaProfile>();
  const profileOf = (template: Template): PodQuotaProfile => {
    let profile = profiles.get(template);
    if (!profile) {
      profile = podQuotaProfile(template.pod.spec);
      profiles.set(template, profile);
    }
    return profile;
  };
  /** The quota that admits the fewest more machines of the template, if any limits it. Machines
   * accepted and not created yet, of every template, are counted against it: admission adds a
   * pod to a quota's usage only when the pod is created. */
  const quotaLimit = (template: Template): QuotaLimit | undefined => {
    const quotas = [...state.quotas()];
    if (quotas.length === 0) return undefined;
    const uncounted = templates.templates
      .map((t) => ({
        profile: profileOf(t),
        count: state.machinesNotCreated(t.templateId) + reservedCount(t.templateId),
      }))
      .filter(({ count }) => count > 0);
    return quotaHeadroom(profileOf(template), quotas, uncounted);
  };

  return {
    of(template) {
      const { templateId, maxNumber } = template;
      const byMaxNumber =
        maxNumber === -1
          ? -1
          : Math.max(0, maxNumber - state.machinesInUse(templateId) - reservedCount(templateId));
      const quota = quotaLimit(template);
      if (!quota || (byMaxNumber !== -1 && byMaxNumber <= quota.machines)) {
        return { available: byMaxNumber };
      }
      return { available: quota.machines, quota };
    },
    reserve(requestId, templateId, count) {
      reserved.set(requestId, { templateId, count, until: Date.now() + RESERVATION_TTL_MS });
    },
    unreserve(requestId) {
      reserved.delete(requestId);
    },
  };
}
