// The sidecar's answers that correspond to test/fixtures/hostfactory-wire/*.output.json, and the
// requests that correspond to its *.input.json: the mapping tests compare against both, and the
// stub sidecar answers with them.
import {
  AttributeType,
  type GetAvailableTemplatesResponse,
  type GetRequestStatusRequest,
  type GetRequestStatusResponse,
  type GetReturnRequestsRequest,
  type GetReturnRequestsResponse,
  type Machine,
  MachineResult,
  MachineState,
  RequestKind,
  type RequestMachinesRequest,
  type RequestMachinesResponse,
  type RequestReturnMachinesRequest,
  type RequestReturnMachinesResponse,
  RequestStatus,
} from "../../proto/gen/hostfactory/v1/provider.ts";

export const FIXTURES = new URL("../fixtures/hostfactory-wire/", import.meta.url);

const first = { name: "hf-req-5b2k9x7d1a-0", machineId: "0b7e6a52-3c1d-4f0e-9a8b-2d4c6e8f0a1b" };

export const SAMPLE_REQUESTS = {
  requestMachines: {
    templateId: "compute-4cpu",
    machineCount: 3,
    rcAccount: "",
  } satisfies RequestMachinesRequest,
  requestReturnMachines: {
    machines: [
      first,
      { name: "hf-req-5b2k9x7d1a-1", machineId: "5f1d2c3b-4a5e-4b6c-8d7e-9f0a1b2c3d4e" },
    ],
  } satisfies RequestReturnMachinesRequest,
  getRequestStatus: {
    requestIds: ["req-5b2k9x7d1a", "ret-8c3m1q4w2e"],
  } satisfies GetRequestStatusRequest,
  getReturnRequests: {
    machines: [
      first,
      { name: "hf-req-5b2k9x7d1a-2", machineId: "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d" },
    ],
  } satisfies GetReturnRequestsRequest,
};

export const SAMPLE_MACHINE: Machine = {
  machineId: first.machineId,
  name: first.name,
  result: MachineResult.MACHINE_RESULT_SUCCEED,
  status: MachineState.MACHINE_STATE_RUNNING,
  privateIpAddress: "10.244.1.17",
  publicIpAddress: "",
  launchtime: 1_764_000_000,
  message: "",
};

export const SAMPLE_RESPONSES = {
  getAvailableTemplates: {
    templates: [
      {
        templateId: "compute-4cpu",
        maxNumber: 100,
        availableNumber: 97,
        attributes: {
          type: { type: AttributeType.ATTRIBUTE_TYPE_STRING, value: "X86_64" },
          ncpus: { type: AttributeType.ATTRIBUTE_TYPE_NUMERIC, value: "4" },
          ncores: { type: AttributeType.ATTRIBUTE_TYPE_NUMERIC, value: "4" },
          nram: { type: AttributeType.ATTRIBUTE_TYPE_NUMERIC, value: "16384" },
        },
      },
    ],
    message: "1 template available.",
  } satisfies GetAvailableTemplatesResponse,
  requestMachines: {
    requestId: "req-5b2k9x7d1a",
    message: "Request for 3 machines of template compute-4cpu accepted.",
  } satisfies RequestMachinesResponse,
  requestReturnMachines: {
    requestId: "ret-8c3m1q4w2e",
    message: "Return of 2 machines accepted.",
  } satisfies RequestReturnMachinesResponse,
  getRequestStatus: {
    requests: [
      {
        requestId: "req-5b2k9x7d1a",
        status: RequestStatus.REQUEST_STATUS_RUNNING,
        message: "",
        kind: RequestKind.REQUEST_KIND_CREATE,
        templateId: "compute-4cpu",
        machines: [
          SAMPLE_MACHINE,
          {
            ...SAMPLE_MACHINE,
            machineId: "5f1d2c3b-4a5e-4b6c-8d7e-9f0a1b2c3d4e",
            name: "hf-req-5b2k9x7d1a-1",
            result: MachineResult.MACHINE_RESULT_EXECUTING,
            status: MachineState.MACHINE_STATE_PENDING,
            privateIpAddress: "",
          },
          {
            ...SAMPLE_MACHINE,
            machineId: "",
            name: "hf-req-5b2k9x7d1a-2",
            result: MachineResult.MACHINE_RESULT_FAIL,
            status: MachineState.MACHINE_STATE_TERMINATED,
            privateIpAddress: "",
            message: "Pod stayed Pending for 600s: 0/12 nodes are available: 12 Insufficient cpu.",
          },
        ],
      },
      {
        requestId: "ret-8c3m1q4w2e",
        status: RequestStatus.REQUEST_STATUS_COMPLETE,
        message: "",
        kind: RequestKind.REQUEST_KIND_RETURN,
        templateId: "",
        machines: [{ ...SAMPLE_MACHINE, status: MachineState.MACHINE_STATE_TERMINATED }],
      },
    ],
  } satisfies GetRequestStatusResponse,
  getReturnRequests: {
    requests: [
      {
        machine: "hf-req-5b2k9x7d1a-2",
        machineId: "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d",
        gracePeriod: 0,
        reason: "pod evicted",
      },
    ],
    message: "1 machine is being taken back by the cluster.",
  } satisfies GetReturnRequestsResponse,
};
