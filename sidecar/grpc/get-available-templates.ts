// getAvailableTemplates: each template with the machines that may still be asked for, and the
// quotas that allow fewer than maxNumber does.

import type { Attribute } from "../../templates/parse.ts";
import { type ProviderContext, plural, requireSynced } from "./provider-context.ts";
import type { Availability } from "./template-availability.ts";

export interface TemplateAvailability {
  templateId: string;
  maxNumber: number;
  availableNumber: number;
  attributes: Record<string, Attribute>;
}

export function getAvailableTemplates(
  { state, templates }: ProviderContext,
  availability: Availability,
): { templates: TemplateAvailability[]; message: string } {
  requireSynced(state);
  const limits: string[] = [];
  const list = templates.templates.map((t) => {
    const { available, quota } = availability.of(t);
    if (quota) {
      limits.push(
        ` ${t.templateId}: ResourceQuota '${quota.quota}' admits ${plural(quota.machines, "more machine")} (${quota.detail}).`,
      );
    }
    return {
      templateId: t.templateId,
      maxNumber: t.maxNumber,
      availableNumber: available,
      attributes: t.attributes,
    };
  });
  const message = `${plural(list.length, "template")} available.${limits.join("")}`;
  return { templates: list, message };
}
