// The regression scenarios against a real cluster, before go-live: set
// HOSTFACTORY_TEST_KUBECONFIG to a kubeconfig whose identity may create and delete namespaces,
// and the suite runs in a scratch namespace it removes afterwards (docs/operations.md).
import { regressionScenarios } from "./_scenarios.ts";
import { realCluster } from "./_targets.ts";

const kubeconfig = process.env.HOSTFACTORY_TEST_KUBECONFIG;
const skip = kubeconfig
  ? false
  : "HOSTFACTORY_TEST_KUBECONFIG is not set, so the scenarios ran on the simulated cluster only";
if (skip) console.log(`# skipping the regression scenarios on a real cluster: ${skip}`);

regressionScenarios(
  "regression scenarios on the cluster in HOSTFACTORY_TEST_KUBECONFIG",
  () => realCluster(kubeconfig as string),
  { skip },
);
