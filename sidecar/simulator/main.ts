// `npm run simulator`: a Kubernetes API simulator on its own, for kubectl and for people.
// Options: --port N (default DEFAULT_STANDALONE_PORT; 0 for an ephemeral one), --nodes N, --seed N,
// --kubeconfig PATH. Runs until SIGINT or SIGTERM.
import { parseArgs } from "node:util";
import { createSimulator, defaultNodes } from "./index.ts";

/** A fixed default port, so a kubeconfig written once keeps working across runs. */
const DEFAULT_STANDALONE_PORT = 8443;
const DEFAULT_STANDALONE_NODES = 3;

const { values } = parseArgs({
  options: {
    port: { type: "string", default: String(DEFAULT_STANDALONE_PORT) },
    nodes: { type: "string", default: String(DEFAULT_STANDALONE_NODES) },
    seed: { type: "string" },
    kubeconfig: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});

if (values.help) {
  process.stdout.write(`Usage: npm run simulator -- [--port ${DEFAULT_STANDALONE_PORT}] [--nodes ${DEFAULT_STANDALONE_NODES}] [--seed N] [--kubeconfig PATH]
Starts the Kubernetes API simulator on 127.0.0.1 and writes a kubeconfig for it.
Use --port 0 for an ephemeral port. Faults: see sidecar/simulator/README.md.
`);
  process.exit(0);
}

const nodeCount = Number(values.nodes);
const port = Number(values.port);
const simulator = await createSimulator({
  port,
  nodes: defaultNodes(nodeCount),
  ...(values.seed === undefined ? {} : { seed: Number(values.seed) }),
}).catch((error: NodeJS.ErrnoException) => {
  const why =
    error.code === "EADDRINUSE"
      ? `port ${port} is in use (another simulator?); pick one with --port, or --port 0 for any free port`
      : error.message;
  process.stderr.write(`cannot start the simulator: ${why}\n`);
  process.exit(1);
});
const path = await simulator.writeKubeconfig(values.kubeconfig);
process.stdout.write(`Kubernetes API simulator listening on ${simulator.url} with ${nodeCount} nodes
kubeconfig: ${path}
try:        kubectl --kubeconfig ${path} get pods -A
faults:     curl ${simulator.url}/simulator/faults
Stop with Ctrl-C.
`);

const stop = async (signal: string) => {
  process.stdout.write(`\n${signal}: stopping the simulator\n`);
  await simulator.close();
  process.exit(0);
};
process.once("SIGINT", () => void stop("SIGINT"));
process.once("SIGTERM", () => void stop("SIGTERM"));
