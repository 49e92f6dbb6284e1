// describeOnBackends: one block of conformance tests, run on the simulator and on the real
// control plane.
import { after, before, describe } from "node:test";
import type { SimulatorOptions } from "../../sidecar/simulator/index.ts";
import type { Backend, BackendName } from "./backend.ts";
import { realBackendUnavailable, startRealBackend } from "./real-backend.ts";
import { startSimulatorBackend } from "./simulator-backend.ts";

const BACKEND_NAMES: readonly BackendName[] = ["simulator", "real"];

/** What a block asks of its backend: the simulator's timings (the real one has its own). */
export interface BackendOptions {
  simulator?: SimulatorOptions;
}

/** Why the backend cannot run here, or undefined when it can. */
function backendUnavailable(name: BackendName): string | undefined {
  return name === "real" ? realBackendUnavailable() : undefined;
}

function startBackend(name: BackendName, options: BackendOptions): Promise<Backend> {
  return name === "simulator" ? startSimulatorBackend(options.simulator) : startRealBackend();
}

/**
 * One describe block per backend, named "<title> [simulator]" and "<title> [real]"; the real
 * one is skipped, with its reason, where no control plane can run. `body` reads the backend
 * through the getter once `before` has started it.
 */
export function describeOnBackends(
  title: string,
  options: BackendOptions,
  body: (backend: () => Backend, name: BackendName) => void,
): void {
  for (const name of BACKEND_NAMES) {
    const skip = backendUnavailable(name);
    describe(`${title} [${name}]`, { skip: skip ?? false }, () => {
      let current: Backend | undefined;
      before(async () => {
        current = await startBackend(name, options);
      });
      after(async () => {
        await current?.close();
      });
      body(() => {
        if (!current) throw new Error(`the ${name} backend did not start`);
        return current;
      }, name);
    });
  }
}
