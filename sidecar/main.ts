#!/usr/bin/env node
// `hostfactory-sidecar`: serves the HostFactory provider API and owns everything Kubernetes.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import { defineCommand, renderUsage, runMain } from "citty";
import { pino } from "pino";
import { type Sidecar, startSidecar } from "./app.ts";
import { type Config, ConfigError, configArgs, loadConfig } from "./config.ts";
import { loadKubeConfig } from "./kube/kubeconfig.ts";

const EXAMPLES = join(import.meta.dirname, "..", "examples");
// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escape sequences start with ESC
const ANSI_ESCAPE = /\u001b\[[0-9;?]*[A-Za-z]/g;
/** Exit code for a configuration the sidecar cannot start with. */
const EXIT_BAD_CONFIG = 2;
/**
 * A stop signal this soon after the first is the same one delivered twice, not a second
 * request: `deno task start` forwards the terminal's Ctrl-C to the sidecar, which got it too.
 * A later one stops the sidecar at once, without its graceful shutdown.
 */
const REPEATED_SIGNAL_MS = 500;

function banner(address: string, kubeconfig: string, nodes: number): string {
  return `
hostfactory-k8s is serving on ${address}, against a simulated cluster of ${nodes} nodes.
  kubectl:  kubectl --kubeconfig ${kubeconfig} get pods -w
  try:      scripts/getAvailableTemplates.sh -f examples/requests/getAvailableTemplates.json
            scripts/requestMachines.sh -f examples/requests/requestMachines.json
            scripts/getRequestStatus.sh -f <a file naming the request id it printed>
  (set HOSTFACTORY_ADDRESS=${address} if you changed --listen). Ctrl-C stops it.
`;
}

const main = defineCommand({
  meta: {
    name: "hostfactory-sidecar",
    description: "IBM Spectrum Symphony HostFactory provider for Kubernetes: the sidecar server",
  },
  args: configArgs(),
  async run({ args }) {
    let config: Config;
    try {
      config = loadConfig(args);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      process.stderr.write(`hostfactory-sidecar: ${error.message}\n`);
      process.exit(EXIT_BAD_CONFIG);
    }
    const logger = pino({ name: "hostfactory-sidecar", level: config.logLevel });
    const stops: (() => Promise<void>)[] = [];
    let kubeConfig: KubeConfig;
    let namespace = config.namespace;
    let kubeconfigPath = config.kubeconfig ?? "";
    if (config.simulate) {
      const { createSimulator, defaultNodes } = await import("./simulator/index.ts");
      const simulator = await createSimulator({ nodes: defaultNodes(config.simulateNodes) });
      // The kubeconfig lives as long as the simulated cluster it points at.
      const kubeconfigDir = await mkdtemp(join(tmpdir(), "hostfactory-simulate-"));
      stops.push(async () => {
        await simulator.close();
        await rm(kubeconfigDir, { recursive: true, force: true });
      });
      kubeconfigPath = await simulator.writeKubeconfig(join(kubeconfigDir, "kubeconfig"));
      kubeConfig = loadKubeConfig({ kubeconfig: kubeconfigPath }).kubeConfig;
    } else {
      let loaded: ReturnType<typeof loadKubeConfig>;
      try {
        loaded = loadKubeConfig({ kubeconfig: config.kubeconfig });
      } catch (error) {
        process.stderr.write(
          `hostfactory-sidecar: cannot load a kubeconfig: ${(error as Error).message}\n`,
        );
        process.exit(EXIT_BAD_CONFIG);
      }
      kubeConfig = loaded.kubeConfig;
      namespace ??= loaded.namespace;
      logger.info({ source: loaded.source }, "kubeconfig loaded");
    }
    const templates = config.templates ?? join(EXAMPLES, "templates.json");
    let sidecar: Sidecar;
    try {
      sidecar = await startSidecar(
        { ...config, templates, namespace: namespace ?? "default" },
        kubeConfig,
        logger,
      );
    } catch (error) {
      // Invalid templates, a taken address, unreadable certificates: say so, no stack trace.
      process.stderr.write(`hostfactory-sidecar: cannot start: ${(error as Error).message}\n`);
      for (const stop of stops) await stop();
      process.exit(EXIT_BAD_CONFIG);
    }
    stops.unshift(() => sidecar.stop());
    if (config.simulate)
      process.stderr.write(banner(sidecar.address, kubeconfigPath, config.simulateNodes));

    let stoppingSince: number | undefined;
    const shutdown = async (signal: string) => {
      if (stoppingSince !== undefined) {
        if (performance.now() - stoppingSince > REPEATED_SIGNAL_MS) process.exit(1);
        return;
      }
      stoppingSince = performance.now();
      logger.info({ signal }, "shutting down");
      for (const stop of stops) await stop();
      process.exit(0);
    };
    process.on("SIGTERM", () => void shutdown("SIGTERM"));
    process.on("SIGINT", () => void shutdown("SIGINT"));
  },
});

// citty colours --help whatever stdout is; logs, pipes and NO_COLOR get plain text.
const colour = process.stdout.isTTY && !process.env.NO_COLOR && process.env.TERM !== "dumb";
await runMain(main, {
  async showUsage(command, parent) {
    const usage = await renderUsage(command, parent);
    process.stdout.write(`${colour ? usage : usage.replace(ANSI_ESCAPE, "")}\n`);
  },
});
