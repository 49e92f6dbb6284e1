// ResourceQuota → QuotaView: its limits, what the API server counts as used, and its scopes, so
// that getAvailableTemplates can say how many more pods of each template the namespace admits.
import { parseQuantityNanos } from "../../templates/quantity.ts";
import type { QuotaScope, QuotaView } from "../provider/quota.ts";

interface QuotaLike {
  metadata?: { name?: string };
  spec?: {
    hard?: Record<string, string>;
    scopes?: string[];
    scopeSelector?: {
      matchExpressions?: { scopeName?: string; operator?: string; values?: string[] }[];
    };
  };
  status?: { hard?: Record<string, string>; used?: Record<string, string> };
}

function amounts(list: Record<string, string> | undefined): Map<string, bigint> {
  const result = new Map<string, bigint>();
  for (const [name, quantity] of Object.entries(list ?? {})) {
    const nanos = parseQuantityNanos(quantity);
    if (nanos !== undefined) result.set(name, nanos);
  }
  return result;
}

export function projectQuota(raw: unknown): QuotaView | undefined {
  const quota = raw as QuotaLike;
  const name = quota?.metadata?.name;
  if (!name) return undefined;
  const scopes: QuotaScope[] = (quota.spec?.scopes ?? []).map((scopeName) => ({
    scopeName,
    operator: "Exists",
    values: [],
  }));
  for (const expression of quota.spec?.scopeSelector?.matchExpressions ?? []) {
    scopes.push({
      scopeName: expression.scopeName ?? "",
      operator: expression.operator ?? "",
      values: expression.values ?? [],
    });
  }
  return {
    name,
    spec: amounts(quota.spec?.hard),
    hard: amounts(quota.status?.hard),
    used: amounts(quota.status?.used),
    scopes,
  };
}
