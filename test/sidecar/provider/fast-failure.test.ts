import assert from "node:assert/strict";
import { test } from "node:test";
import {
  cannotStart,
  DEFAULT_FAIL_FAST_REASONS,
  parseReasons,
} from "../../../sidecar/provider/fast-failure.ts";
import type { ContainerWaiting, PodView } from "../../../sidecar/provider/model.ts";
import { pod } from "./fixtures.ts";

const DEFAULTS = new Set(DEFAULT_FAIL_FAST_REASONS);

const waiting = (reason: string, message = "", more: Partial<ContainerWaiting> = {}) => ({
  container: "compute",
  init: false,
  reason,
  message,
  ...more,
});

const pending = (...waits: ContainerWaiting[]): PodView =>
  pod({ phase: "Pending", ready: false, podIP: "", waiting: waits });

test("the kubelet's verdicts that waiting will not change fail a pod, in its words", () => {
  const cases: [string, PodView, string][] = [
    [
      "an image that cannot be pulled",
      pending(waiting("ErrImagePull", 'failed to pull image "registry.invalid/x:1": no such host')),
      'the pod cannot start: container "compute": ErrImagePull: failed to pull image "registry.invalid/x:1": no such host',
    ],
    [
      "the kubelet backing off the pull",
      pending(waiting("ImagePullBackOff", 'Back-off pulling image "registry.invalid/x:1"')),
      'the pod cannot start: container "compute": ImagePullBackOff: Back-off pulling image "registry.invalid/x:1"',
    ],
    [
      "an image name that is not one",
      pending(waiting("InvalidImageName", 'Failed to apply default image tag "Bad:Name"')),
      'the pod cannot start: container "compute": InvalidImageName: Failed to apply default image tag "Bad:Name"',
    ],
    [
      "an image absent with imagePullPolicy Never",
      pending(waiting("ErrImageNeverPull")),
      'the pod cannot start: container "compute": ErrImageNeverPull',
    ],
    [
      "a missing Secret, in an init container",
      pending(
        waiting("CreateContainerConfigError", 'secret "ego" not found', {
          container: "join",
          init: true,
        }),
      ),
      'the pod cannot start: init container "join": CreateContainerConfigError: secret "ego" not found',
    ],
    [
      "a crash loop, the pod Running but not Ready",
      pod({
        phase: "Running",
        ready: false,
        waiting: [waiting("CrashLoopBackOff", "back-off 10s restarting failed container=compute")],
      }),
      'the pod cannot start: container "compute": CrashLoopBackOff: back-off 10s restarting failed container=compute',
    ],
    [
      "the first listed reason among several containers",
      pending(
        waiting("ContainerCreating", "", { container: "agent" }),
        waiting("CreateContainerConfigError", 'configmap "ego-conf" not found'),
      ),
      'the pod cannot start: container "compute": CreateContainerConfigError: configmap "ego-conf" not found',
    ],
  ];
  for (const [what, subject, expected] of cases) {
    assert.equal(cannotStart(subject, DEFAULTS), expected, what);
  }
});

test("what may still pass, or what other rules judge, is not a fast failure", () => {
  const cases: [string, PodView][] = [
    ["no container waiting", pending()],
    ["no waiting list at all", pod({ phase: "Pending", ready: false })],
    ["a reason not listed (RunContainerError)", pending(waiting("RunContainerError", "oops"))],
    [
      "a Ready pod (it has started)",
      pod({ phase: "Running", ready: true, waiting: [waiting("CrashLoopBackOff")] }),
    ],
    [
      "a pod being deleted",
      pod({ phase: "Pending", ready: false, deletingAt: 1, waiting: [waiting("ErrImagePull")] }),
    ],
    ["a Failed pod", pod({ phase: "Failed", ready: false, waiting: [waiting("ErrImagePull")] })],
    ["an Unknown pod", pod({ phase: "Unknown", ready: false, waiting: [waiting("ErrImagePull")] })],
  ];
  for (const [what, subject] of cases) {
    assert.equal(cannotStart(subject, DEFAULTS), undefined, what);
  }
  assert.equal(
    cannotStart(pending(waiting("ImagePullBackOff")), new Set()),
    undefined,
    "an empty list turns it off",
  );
  assert.match(
    cannotStart(pending(waiting("RunContainerError", "oops")), new Set(["RunContainerError"])) ??
      "",
    /RunContainerError: oops/,
    "the list is the operator's",
  );
});

test("the default list holds the unrecoverable reasons and none of the transient ones", () => {
  for (const reason of ["ImagePullBackOff", "CreateContainerConfigError", "CrashLoopBackOff"]) {
    assert.ok(DEFAULTS.has(reason), reason);
  }
  for (const reason of ["ContainerCreating", "PodInitializing", "Pulling"]) {
    assert.ok(!DEFAULTS.has(reason), reason);
  }
});

test("a reasons option is a comma-separated list, or none", () => {
  assert.deepEqual(parseReasons("ErrImagePull, ImagePullBackOff"), [
    "ErrImagePull",
    "ImagePullBackOff",
  ]);
  assert.deepEqual(parseReasons("none"), []);
  assert.equal(parseReasons("ErrImagePull,"), undefined);
  assert.equal(parseReasons("Err Image Pull"), undefined);
});
