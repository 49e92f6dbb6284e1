// Exec probe for the sidecar: one grpc.health.v1 Check over the listener the sidecar serves on.
// Kubernetes' native grpc probe reaches neither a Unix socket nor a TLS port, hence this.
// Run as `node --input-type=module --eval <this file> ADDRESS SERVICE [CERT KEY]` from the
// image's /app, where @grpc/grpc-js resolves. With CERT and KEY it speaks TLS and presents that
// pair as its client certificate too (mutual TLS needs one). The server is not verified: the probe
// talks to its own Pod. Exits 0 when SERVICE is SERVING, else 1 with the reason on stderr.
import { readFileSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";

const DEADLINE_MS = 3000;
const SERVING = 1;
const [address, service = "", cert, key] = process.argv.slice(1);

/** HealthCheckRequest { string service = 1; } */
function encodeRequest(name) {
  const bytes = Buffer.from(name, "utf8");
  if (bytes.length === 0) return Buffer.alloc(0);
  const length = [];
  for (let n = bytes.length; ; n >>>= 7) {
    if (n < 0x80) {
      length.push(n);
      break;
    }
    length.push((n & 0x7f) | 0x80);
  }
  return Buffer.concat([Buffer.from([0x0a, ...length]), bytes]);
}

/** HealthCheckResponse { ServingStatus status = 1; }: a small enum, so one varint byte. */
function decodeStatus(bytes) {
  return bytes[0] === 0x08 ? bytes[1] : 0;
}

const credentials = cert
  ? grpc.credentials.createSsl(null, readFileSync(key), readFileSync(cert), {
      rejectUnauthorized: false,
    })
  : grpc.credentials.createInsecure();
// The name sent in TLS's SNI; an IP address is not allowed there.
const client = new grpc.Client(address, credentials, {
  "grpc.ssl_target_name_override": "localhost",
});
client.makeUnaryRequest(
  "/grpc.health.v1.Health/Check",
  encodeRequest,
  decodeStatus,
  service,
  { deadline: Date.now() + DEADLINE_MS },
  (error, status) => {
    client.close();
    if (error) {
      process.stderr.write(`health check of '${service}' at ${address} failed: ${error.message}\n`);
      process.exit(1);
    }
    if (status !== SERVING) {
      process.stderr.write(`'${service}' at ${address} is not serving (status ${status})\n`);
      process.exit(1);
    }
  },
);
