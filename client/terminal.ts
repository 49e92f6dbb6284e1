// Colour only for people at a terminal: citty colours its usage text whatever stdout is (it
// only looks at NO_COLOR=1, TERM and CI), which puts escape codes into logs, pipes and files.

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escape sequences start with ESC
const ANSI_ESCAPE = /\u001b\[[0-9;?]*[A-Za-z]/g;

/** Whether `stream` may get colour: a terminal, NO_COLOR unset or empty, TERM not "dumb". */
export function colourAllowed(
  stream: { isTTY?: boolean },
  env: Record<string, string | undefined>,
): boolean {
  return Boolean(stream.isTTY) && !env.NO_COLOR && env.TERM !== "dumb";
}

/** `text` as `stream` should get it: without escape codes unless colour is allowed. */
export function forStream(
  text: string,
  stream: { isTTY?: boolean },
  env: Record<string, string | undefined> = process.env,
): string {
  return colourAllowed(stream, env) ? text : text.replace(ANSI_ESCAPE, "");
}
