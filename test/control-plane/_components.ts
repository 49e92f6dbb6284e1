// The command line of each control-plane process, in one place, so what the test cluster is (which
// controllers, which admission, which timings) reads as a list of flags.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BinaryPaths } from "./binaries.ts";

export const COMPONENTS = [
  "etcd",
  "kube-apiserver",
  "kube-scheduler",
  "kube-controller-manager",
  "kwok",
] as const;
export type Component = (typeof COMPONENTS)[number];

/** The label KWOK manages nodes by; a node without it has no kubelet (it stops heartbeating). */
export const KWOK_MANAGED_LABEL = "hostfactory-k8s.test/kwok";
/** The annotation the pod-fail stage (kwok-stages.yaml) matches. */
export const FAIL_REASON_ANNOTATION = "hostfactory-k8s.test/fail-reason";

/** Pod IPs KWOK hands out. */
const POD_CIDR = "10.244.0.0/16";
/** The Service range; the `kubernetes` Service takes its first address, 10.0.0.1. */
const SERVICE_CIDR = "10.0.0.0/24";
const SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local";
/** Client rates of the controllers and the scheduler: above the defaults, so bursts of pods move. */
const CONTROLLER_QPS = 200;
const CONTROLLER_BURST = 400;

export interface Timings {
  /** How long a node may be silent before the node lifecycle controller marks it NotReady. */
  nodeMonitorGracePeriodSeconds: number;
  /** How often the node lifecycle controller looks. */
  nodeMonitorPeriodSeconds: number;
  /** The Lease KWOK renews per node (a quarter of it apart), as a kubelet does. */
  nodeLeaseDurationSeconds: number;
  /** Toleration the DefaultTolerationSeconds admission gives pods for NotReady/unreachable. */
  tolerationSeconds: number;
}

export interface Layout {
  dir: string;
  binaries: BinaryPaths;
  etcdClientPort: number;
  etcdPeerPort: number;
  apiserverPort: number;
  files: {
    caCert: string;
    caKey: string;
    servingCert: string;
    servingKey: string;
    serviceAccountKey: string;
    serviceAccountPublicKey: string;
    controllerManagerKubeconfig: string;
    schedulerKubeconfig: string;
    kwokKubeconfig: string;
  };
  timings: Timings;
}

/** Binary and arguments of one component. */
export function commandLine(component: Component, layout: Layout): [string, string[]] {
  const { dir, binaries, files, timings } = layout;
  const etcd = `http://127.0.0.1:${layout.etcdClientPort}`;
  const peer = `http://127.0.0.1:${layout.etcdPeerPort}`;
  switch (component) {
    case "etcd":
      return [
        binaries.etcd,
        [
          "--name=default",
          `--data-dir=${join(dir, "etcd")}`,
          `--listen-client-urls=${etcd}`,
          `--advertise-client-urls=${etcd}`,
          `--listen-peer-urls=${peer}`,
          `--initial-advertise-peer-urls=${peer}`,
          `--initial-cluster=default=${peer}`,
          "--unsafe-no-fsync",
          "--log-level=warn",
        ],
      ];
    case "kube-apiserver":
      return [
        binaries["kube-apiserver"],
        [
          "--bind-address=127.0.0.1",
          "--advertise-address=127.0.0.1",
          `--secure-port=${layout.apiserverPort}`,
          `--cert-dir=${join(dir, "apiserver")}`,
          `--etcd-servers=${etcd}`,
          `--tls-cert-file=${files.servingCert}`,
          `--tls-private-key-file=${files.servingKey}`,
          `--client-ca-file=${files.caCert}`,
          "--authorization-mode=Node,RBAC",
          `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
          `--service-account-key-file=${files.serviceAccountPublicKey}`,
          `--service-account-signing-key-file=${files.serviceAccountKey}`,
          `--service-cluster-ip-range=${SERVICE_CIDR}`,
          // The `kubernetes` Service's endpoints would be 127.0.0.1, which Endpoints refuse.
          "--endpoint-reconciler-type=none",
          `--default-not-ready-toleration-seconds=${timings.tolerationSeconds}`,
          `--default-unreachable-toleration-seconds=${timings.tolerationSeconds}`,
          "--allow-privileged=true",
          "--profiling=false",
        ],
      ];
    case "kube-scheduler": {
      const config = join(dir, "kube-scheduler.yaml");
      writeFileSync(
        config,
        [
          "apiVersion: kubescheduler.config.k8s.io/v1",
          "kind: KubeSchedulerConfiguration",
          "clientConnection:",
          `  kubeconfig: ${files.schedulerKubeconfig}`,
          `  qps: ${CONTROLLER_QPS}`,
          `  burst: ${CONTROLLER_BURST}`,
          "leaderElection:",
          "  leaderElect: false",
          "",
        ].join("\n"),
      );
      return [binaries["kube-scheduler"], [`--config=${config}`, "--secure-port=0"]];
    }
    case "kube-controller-manager":
      return [
        binaries["kube-controller-manager"],
        [
          `--kubeconfig=${files.controllerManagerKubeconfig}`,
          "--secure-port=0",
          "--leader-elect=false",
          // Every default controller: node lifecycle, taint eviction, pod GC, garbage collector,
          // namespace, service account and its tokens, disruption, resource quota among them.
          "--controllers=*",
          "--use-service-account-credentials=true",
          `--service-account-private-key-file=${files.serviceAccountKey}`,
          `--root-ca-file=${files.caCert}`,
          `--cluster-signing-cert-file=${files.caCert}`,
          `--cluster-signing-key-file=${files.caKey}`,
          `--node-monitor-period=${timings.nodeMonitorPeriodSeconds}s`,
          `--node-monitor-grace-period=${timings.nodeMonitorGracePeriodSeconds}s`,
          `--kube-api-qps=${CONTROLLER_QPS}`,
          `--kube-api-burst=${CONTROLLER_BURST}`,
        ],
      ];
    case "kwok":
      return [
        binaries.kwok,
        [
          `--kubeconfig=${files.kwokKubeconfig}`,
          `--config=${join(import.meta.dirname, "kwok-stages.yaml")}`,
          "--manage-all-nodes=false",
          `--manage-nodes-with-label-selector=${KWOK_MANAGED_LABEL}`,
          `--node-lease-duration-seconds=${timings.nodeLeaseDurationSeconds}`,
          `--cidr=${POD_CIDR}`,
        ],
      ];
  }
}
