// `npm run control-plane`: a real control plane on 127.0.0.1 until SIGINT or SIGTERM, for trying
// the sidecar, kubectl or helm against. Prints the admin kubeconfig's path.
//   npm run control-plane -- [--nodes N]
import { parseArgs } from "node:util";
import { startControlPlane } from "./index.ts";

const { values } = parseArgs({ options: { nodes: { type: "string", default: "3" } } });
const nodes = Number(values.nodes);
if (!Number.isInteger(nodes) || nodes < 0) {
  console.error(`--nodes must be a whole number of nodes, not ${values.nodes}`);
  process.exit(2);
}

const controlPlane = await startControlPlane({
  nodes: Array.from({ length: nodes }, () => ({})),
  log: (line) => console.error(line),
});
console.log(`export KUBECONFIG=${controlPlane.kubeconfigPath}`);
console.error(`server ${controlPlane.server}; logs in ${controlPlane.dir}/logs; Ctrl-C stops it`);

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    await controlPlane.stop();
    process.exit(0);
  });
}
// The components are unref'd children: something must keep this process waiting for a signal.
setInterval(() => {}, 1 << 30);
