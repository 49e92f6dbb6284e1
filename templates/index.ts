// HostFactory templates: the file format, read and validated as a whole, and the Pod a template
// gives a machine. Shared by the sidecar (which loads and follows the file) and the client
// (`templates validate`, `doctor --templates`), so both judge a file by the same code. Nothing
// here knows a Kubernetes client: the client must not load one.
export { isDnsLabel, podName } from "./names.ts";
export {
  type Attribute,
  type AttributeType,
  DEFAULT_PENDING_TIMEOUT_SECONDS,
  extendedResourceAttribute,
  type PodFileReader,
  type PodTemplate,
  parseTemplates,
  type Template,
  type TemplateDefaults,
  TemplateError,
} from "./parse.ts";
export {
  ANNOTATION_RC_ACCOUNT,
  LABEL_INSTANCE,
  LABEL_MACHINE_INDEX,
  LABEL_REQUEST_ID,
  LABEL_TEMPLATE_ID,
  type MachinePod,
  podManifest,
} from "./pod-manifest.ts";
export { formatQuantityNanos, parseQuantity, parseQuantityNanos } from "./quantity.ts";
export { readTemplatesFile } from "./read.ts";
