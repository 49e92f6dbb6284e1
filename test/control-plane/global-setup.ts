// node --test's global setup (package.json's test:unit): boots the one control plane the suites
// of an `npm test` run share and hands its admin kubeconfig to every test file through
// HOSTFACTORY_CONTROL_PLANE_KUBECONFIG. Building the binaries, when they are not cached yet, is
// done here too, once. Where they cannot be had, one line says why and the suites skip.
import {
  type ControlPlane,
  controlPlaneUnavailable,
  REQUIRE_VARIABLE,
  SHARED_KUBECONFIG_VARIABLE,
  startControlPlane,
} from "./index.ts";

let controlPlane: ControlPlane | undefined;

export async function globalSetup(): Promise<void> {
  const reason = controlPlaneUnavailable();
  if (reason) {
    console.error(
      `# ${reason}: its suites are skipped (set ${REQUIRE_VARIABLE}=1 to fail instead)`,
    );
    return;
  }
  const started = Date.now();
  controlPlane = await startControlPlane({
    log: (line) => console.error(`# control plane: ${line}`),
  });
  process.env[SHARED_KUBECONFIG_VARIABLE] = controlPlane.kubeconfigPath;
  console.error(`# control plane: up in ${Math.round((Date.now() - started) / 1000)} s`);
}

export async function globalTeardown(): Promise<void> {
  await controlPlane?.stop();
}
