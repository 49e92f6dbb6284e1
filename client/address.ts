// Where the sidecar listens, as an administrator writes it: `unix:///path` (or `unix:/path`) for
// a Unix socket, `host:port` or `dns:host:port` for TCP.
import { invalidInput } from "./errors.ts";

export interface Address {
  transport: "unix" | "tcp";
  /** `unix:/path/to.sock` or `host:port`: the form the transport (and grpc-js) takes. */
  target: string;
}

const ACCEPTED_FORMS = "unix:///path/to.sock, unix:/path/to.sock, host:port or dns:host:port";

/** `source` says where the address came from, for the error message. */
export function parseAddress(text: string, source: string): Address {
  const bad = (why: string) =>
    invalidInput(`${source}: address ${JSON.stringify(text)} ${why}; expected ${ACCEPTED_FORMS}`);

  if (text.startsWith("unix:")) {
    const path = text.startsWith("unix://") ? text.slice("unix://".length) : text.slice(5);
    if (!path.startsWith("/")) throw bad("does not name an absolute socket path");
    return { transport: "unix", target: `unix:${path}` };
  }
  if (text.startsWith("/")) throw bad(`is a path, not an address (did you mean unix://${text}?)`);

  const hostPort = text.replace(/^dns:(\/\/\/)?/, "");
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:/[\]\s]+):(\d+)$/.exec(hostPort);
  if (match === null) throw bad("is not host:port");
  const [, host = "", portText = ""] = match;
  const port = Number(portText);
  if (port < 1 || port > 65_535) throw bad("has a port outside 1-65535");
  return { transport: "tcp", target: `${host}:${port}` };
}
