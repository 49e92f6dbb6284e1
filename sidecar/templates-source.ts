// The operator's templates file, kept current: read at start, re-read when the file or its
// directory changes (a mounted ConfigMap is swapped through symlinks, so the directory is
// watched, with a slow poll as a safety net). A bad edit keeps the last good set and says why; so
// does a failing watcher, which is re-armed instead of taking the sidecar down.
import { type FSWatcher, watch } from "node:fs";
import { dirname } from "node:path";
import type { Logger } from "pino";
import type { Template, TemplateDefaults } from "../templates/parse.ts";
import { readTemplatesFile } from "../templates/read.ts";
import { excerpt, ProviderError } from "./provider/errors.ts";

const RELOAD_DEBOUNCE_MS = 200;
const POLL_INTERVAL_MS = 30_000;
/** After the directory watcher fails, watch again this much later (the poll covers the gap). */
export const REWATCH_DELAY_MS = 1_000;

export interface TemplatesSourceOptions {
  /** Watches a directory, calling back on any change in it. Default: `fs.watch`. */
  watchDirectory?: (directory: string, onChange: () => void) => FSWatcher;
  /** Default {@link REWATCH_DELAY_MS}. */
  rewatchDelayMs?: number;
}

export interface TemplatesSource {
  /** The current valid templates, in file order. */
  readonly templates: Template[];
  get(templateId: string): Template | undefined;
  /** Why the last reload failed; undefined when the file on disk is the set in use. */
  readonly lastError: string | undefined;
  /** Re-reads now; returns true when the set in use changed. */
  reload(): boolean;
  close(): void;
}

/** Loads the templates (throwing when the first read is invalid) and follows the file, telling
 * `onReload` of each new set and of each new problem. */
export function createTemplatesSource(
  path: string,
  defaults: TemplateDefaults,
  logger: Logger,
  onReload: (outcome: "changed" | "invalid") => void = () => {},
  options: TemplatesSourceOptions = {},
): TemplatesSource {
  const watchDirectory =
    options.watchDirectory ?? ((directory, onChange) => watch(directory, onChange));
  const rewatchDelayMs = options.rewatchDelayMs ?? REWATCH_DELAY_MS;
  let templates = readTemplatesFile(path, defaults);
  let byId = new Map(templates.map((t) => [t.templateId, t]));
  let lastText = JSON.stringify(templates);
  let lastError: string | undefined;
  let timer: NodeJS.Timeout | undefined;

  const reload = (): boolean => {
    try {
      const fresh = readTemplatesFile(path, defaults);
      lastError = undefined;
      const text = JSON.stringify(fresh);
      if (text === lastText) return false;
      templates = fresh;
      byId = new Map(fresh.map((t) => [t.templateId, t]));
      lastText = text;
      logger.info({ templates: fresh.map((t) => t.templateId) }, "templates reloaded");
      onReload("changed");
      return true;
    } catch (error) {
      const message = (error as Error).message;
      if (message !== lastError) {
        logger.error({ err: message }, "templates file is invalid; keeping the last good set");
        onReload("invalid");
      }
      lastError = message;
      return false;
    }
  };
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(reload, RELOAD_DEBOUNCE_MS);
  };
  let watcher: FSWatcher | undefined;
  let rewatch: NodeJS.Timeout | undefined;
  let closed = false;
  const arm = (): void => {
    try {
      const armed = watchDirectory(dirname(path), schedule);
      // An FSWatcher 'error' with no listener would be thrown and end the process.
      armed.on("error", (error) => {
        logger.error(
          { err: error.message, retryInMs: rewatchDelayMs },
          "the templates directory watcher failed; keeping the templates in use and watching again",
        );
        armed.close();
        if (watcher === armed) watcher = undefined;
        if (!closed) rewatch = setTimeout(rearm, rewatchDelayMs);
      });
      watcher = armed;
    } catch (error) {
      logger.warn(
        { err: (error as Error).message },
        "cannot watch the templates directory; polling",
      );
    }
  };
  /** Watches again, and reads the file at once for any edit made while nothing watched. */
  const rearm = (): void => {
    rewatch = undefined;
    arm();
    reload();
  };
  arm();
  const poll = setInterval(reload, POLL_INTERVAL_MS);
  poll.unref();

  return {
    get templates() {
      return templates;
    },
    get: (id) => byId.get(id),
    get lastError() {
      return lastError;
    },
    reload,
    close() {
      closed = true;
      clearTimeout(rewatch);
      watcher?.close();
      clearInterval(poll);
      clearTimeout(timer);
    },
  };
}

/** The not-found error for a template id the source does not hold, naming those it does. */
export function unknownTemplate(
  source: TemplatesSource,
  templateId: string,
  also = "",
): ProviderError {
  const known = source.templates.map((t) => t.templateId).join(", ");
  return new ProviderError(
    "not-found",
    `template '${excerpt(templateId)}' not found${also}; available: ${known}`,
  );
}
