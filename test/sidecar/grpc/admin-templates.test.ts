// ListTemplates over fakes of what it reads: each template's settings as operators see them.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { AdminContext, AdminSettings } from "../../../sidecar/grpc/admin-context.ts";
import { listTemplates } from "../../../sidecar/grpc/admin-templates.ts";
import type { Template } from "../../../templates/parse.ts";
import { template } from "../provider/fixtures.ts";

function listed(templates: Template[]) {
  const context = {
    service: {
      getAvailableTemplates: () => ({
        templates: templates.map((t) => ({ templateId: t.templateId, availableNumber: 3 })),
        message: "",
      }),
    },
    state: { machinesInUse: () => 1 },
    templates: { templates, lastError: undefined },
  } as unknown as AdminContext;
  const settings = { templatesFile: "/etc/hostfactory/templates.json" } as AdminSettings;
  return listTemplates(settings, context).templates;
}

test("ListTemplates says how a template's hosts are drained and which PriorityClass they name", () => {
  const containers = [{ name: "c", image: "i" }];
  const [plain, borrowed] = listed([
    template({ templateId: "plain" }),
    template({
      templateId: "borrowed",
      drainPolicy: "cooperative",
      pod: {
        labels: {},
        annotations: {},
        spec: { containers, priorityClassName: "hostfactory-borrowed" },
      },
    }),
  ]);
  assert.equal(plain?.drainPolicy, "immediate");
  assert.equal(plain?.priorityClassName, "");
  assert.equal(borrowed?.drainPolicy, "cooperative");
  assert.equal(borrowed?.priorityClassName, "hostfactory-borrowed");
  assert.equal(borrowed?.template?.availableNumber, 3);
  assert.equal(borrowed?.machinesInUse, 1);
});
