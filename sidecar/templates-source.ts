// The operator's templates file, kept current: read at start, re-read when the file or its
// directory changes (a mounted ConfigMap is swapped through symlinks, so the directory is
// watched, with a slow poll as a safety net). A bad edit keeps the last good set and says why.
import { type FSWatcher, readFileSync, watch } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { loadYaml } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { parseTemplates, type Template, type TemplateDefaults } from "./provider/templates.ts";

const RELOAD_DEBOUNCE_MS = 200;
const POLL_INTERVAL_MS = 30_000;

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

function readDocument(path: string): unknown {
  const text = readFileSync(path, "utf8");
  return path.endsWith(".json") ? JSON.parse(text) : loadYaml(text);
}

/** Reads and validates the whole file; throws with every problem. */
export function readTemplatesFile(path: string, defaults: TemplateDefaults): Template[] {
  const base = dirname(path);
  let document: unknown;
  try {
    document = readDocument(path);
  } catch (error) {
    throw new Error(`cannot read templates file ${path}: ${(error as Error).message}`);
  }
  return parseTemplates(
    document,
    (file) => {
      const full = isAbsolute(file) ? file : resolve(base, file);
      try {
        return loadYaml(readFileSync(full, "utf8"));
      } catch (error) {
        throw new Error(`cannot read ${full}: ${(error as Error).message}`);
      }
    },
    defaults,
  );
}

/** Loads the templates (throwing when the first read is invalid) and follows the file, telling
 * `onReload` of each new set and of each new problem. */
export function createTemplatesSource(
  path: string,
  defaults: TemplateDefaults,
  logger: Logger,
  onReload: (outcome: "changed" | "invalid") => void = () => {},
): TemplatesSource {
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
  try {
    watcher = watch(dirname(path), schedule);
  } catch (error) {
    logger.warn({ err: (error as Error).message }, "cannot watch the templates directory; polling");
  }
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
      watcher?.close();
      clearInterval(poll);
      clearTimeout(timer);
    },
  };
}
