// ListMachines over fakes of the caches: which pods it lists, and in which order.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ListMachinesRequest } from "../../../proto/gen/hostfactory/v1/admin.ts";
import type { AdminContext } from "../../../sidecar/grpc/admin-context.ts";
import { listMachines } from "../../../sidecar/grpc/admin-requests.ts";
import type { PodView } from "../../../sidecar/provider/model.ts";
import { pod, REQ, T0 } from "../provider/fixtures.ts";

function context(pods: PodView[]): AdminContext {
  return {
    state: {
      synced: true,
      pods: () => pods,
      isReturning: () => false,
      record: () => undefined,
    },
    templates: { templates: [], get: () => undefined },
  } as unknown as AdminContext;
}

test("ListMachines lists the oldest machine first, and by name among machines made together", async () => {
  const pods = [
    pod({ name: "hf-c", createdAt: T0 + 2_000 }),
    pod({ name: "hf-b", createdAt: T0 }),
    pod({ name: "hf-a", createdAt: T0 + 2_000 }),
    pod({ name: "hf-d", createdAt: T0 + 1_000, requestId: "req-otherother" }),
  ];
  const all = await listMachines(context(pods), ListMachinesRequest.fromPartial({}));
  assert.deepEqual(
    all.machines.map((m) => m.name),
    ["hf-b", "hf-d", "hf-a", "hf-c"],
  );
  const one = await listMachines(
    context(pods),
    ListMachinesRequest.fromPartial({ requestId: REQ }),
  );
  assert.deepEqual(
    one.machines.map((m) => m.name),
    ["hf-b", "hf-a", "hf-c"],
  );
});
