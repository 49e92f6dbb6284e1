import { badRequest } from "./status-error.ts";

/**
 * List continue tokens in the API server's own format: base64url (no padding) of
 * {"v":"meta.k8s.io/v1","rv":<snapshot resourceVersion>,"start":"<key to resume after>"}.
 */
export interface ContinueToken {
  /** The resourceVersion of the snapshot the pages are served from. */
  resourceVersion: number;
  /** The namespace/name key of the last object served; the next page starts after it. */
  after: string;
}

const TOKEN_VERSION = "meta.k8s.io/v1";

export function encodeContinueToken(token: ContinueToken): string {
  const json = JSON.stringify({
    v: TOKEN_VERSION,
    rv: token.resourceVersion,
    start: `${token.after}\u0000`,
  });
  return Buffer.from(json).toString("base64url");
}

/** Throws a 400 StatusError for a token this server could not have issued. */
export function decodeContinueToken(text: string): ContinueToken {
  try {
    const parsed = JSON.parse(Buffer.from(text, "base64url").toString("utf8")) as {
      v?: unknown;
      rv?: unknown;
      start?: unknown;
    };
    if (
      parsed.v === TOKEN_VERSION &&
      typeof parsed.rv === "number" &&
      Number.isInteger(parsed.rv) &&
      parsed.rv > 0 &&
      typeof parsed.start === "string" &&
      parsed.start.endsWith("\u0000")
    ) {
      return { resourceVersion: parsed.rv, after: parsed.start.slice(0, -1) };
    }
  } catch {
    // Falls through to the API server's answer for any malformed token.
  }
  throw badRequest(
    "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
  );
}
