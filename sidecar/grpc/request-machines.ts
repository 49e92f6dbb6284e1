// requestMachines: checks a create request against its template, maxNumber and the quotas, then
// stores its record; the reconciler creates the pods.

import type { Admission } from "../controller/admission.ts";
import { ProviderError } from "../provider/errors.ts";
import { MAX_MACHINES_PER_REQUEST } from "../provider/model.ts";
import { newRequestId } from "../provider/naming.ts";
import type { NewCreateRecord } from "../provider/records.ts";
import { templateReferences } from "../provider/template-references.ts";
import { unknownTemplate } from "../templates-source.ts";
import { type ProviderContext, plural, requireSynced } from "./provider-context.ts";
import { storeForCall, throwIfCancelled } from "./store-for-call.ts";
import type { Availability } from "./template-availability.ts";

/** A Symphony consumer path is short; this keeps the pods' annotations far below their limit. */
const MAX_RC_ACCOUNT_LENGTH = 1_024;

/** Grants the machines across replicas, or says why not. */
async function admit(
  { cluster }: ProviderContext,
  requestId: string,
  templateId: string,
  maxNumber: number,
  count: number,
): Promise<void> {
  let admission: Admission;
  try {
    admission = await cluster.admitter.admit(requestId, templateId, maxNumber, count);
  } catch (error) {
    throw new ProviderError(
      "unavailable",
      `cannot reserve machines of template '${templateId}': ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (admission.granted) return;
  if ("contended" in admission) {
    throw new ProviderError(
      "unavailable",
      `too many requests for template '${templateId}' at once; try again shortly`,
    );
  }
  throw new ProviderError(
    "resource-exhausted",
    `template '${templateId}' has ${admission.available} of ${maxNumber} machines available; ${count} requested`,
  );
}

/**
 * Refuses a template whose PriorityClass does not exist: the API server would refuse each of
 * its pods. When the lookup cannot tell (no permission, API trouble), the request goes ahead.
 */
async function requirePriorityClass(
  { cluster }: ProviderContext,
  templateId: string,
  spec: Record<string, unknown>,
): Promise<void> {
  const reference = templateReferences(spec).find((r) => r.kind === "PriorityClass");
  if (!reference) return;
  const finding = await cluster.references(reference);
  if (finding.state !== "missing") return;
  throw new ProviderError(
    "failed-precondition",
    `template '${templateId}' names PriorityClass '${reference.name}', which does not exist in the cluster, so every pod of it would be refused; nothing was requested. Create the PriorityClass (see examples/priority-classes.yaml) or correct the template's priorityClassName`,
  );
}

export async function requestMachines(
  context: ProviderContext,
  availability: Availability,
  {
    templateId,
    machineCount,
    rcAccount,
  }: { templateId: string; machineCount: number; rcAccount: string },
  signal: AbortSignal | undefined,
): Promise<{ requestId: string; message: string }> {
  const { settings, state, templates, cluster } = context;
  requireSynced(state);
  const template = templates.get(templateId);
  if (!template) throw unknownTemplate(templates, templateId);
  if (!Number.isInteger(machineCount) || machineCount < 1) {
    throw new ProviderError(
      "invalid-argument",
      `machineCount must be a positive integer, found ${machineCount}`,
    );
  }
  if (rcAccount.length > MAX_RC_ACCOUNT_LENGTH) {
    throw new ProviderError(
      "invalid-argument",
      `rc_account is ${rcAccount.length} characters long; at most ${MAX_RC_ACCOUNT_LENGTH} are kept`,
    );
  }
  const limit = settings.maxRequestMachines ?? MAX_MACHINES_PER_REQUEST;
  if (machineCount > limit) {
    throw new ProviderError(
      "invalid-argument",
      `machineCount ${machineCount} is over the limit of ${limit} machines per request (the sidecar's --max-request-machines)`,
    );
  }
  await requirePriorityClass(context, templateId, template.pod.spec);
  const { available, quota } = availability.of(template);
  if (quota && machineCount > available) {
    throw new ProviderError(
      "resource-exhausted",
      `template '${templateId}' has ${plural(available, "machine")} available under ResourceQuota '${quota.quota}' in namespace ${settings.namespace} (${quota.detail}); ${machineCount} requested`,
    );
  }
  if (available !== -1 && machineCount > available) {
    throw new ProviderError(
      "resource-exhausted",
      `template '${templateId}' has ${available} of ${template.maxNumber} machines available; ${machineCount} requested`,
    );
  }
  const record: NewCreateRecord = {
    kind: "create",
    requestId: newRequestId("create"),
    templateId,
    machineCount,
    rcAccount,
  };
  // Reserved before the first await, so that the check above and this are one step.
  availability.reserve(record.requestId, templateId, machineCount);
  const limited = template.maxNumber !== -1;
  try {
    throwIfCancelled(signal);
    if (limited) {
      await admit(context, record.requestId, templateId, template.maxNumber, machineCount);
    }
    await storeForCall(context, record, signal);
  } catch (error) {
    availability.unreserve(record.requestId);
    if (limited) await cluster.admitter.release(record.requestId).catch(() => {});
    throw error;
  }
  return {
    requestId: record.requestId,
    message: `Request for ${plural(machineCount, "machine")} of template ${templateId} accepted.`,
  };
}
