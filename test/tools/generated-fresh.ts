// Fails when proto/gen/ differs from what `npm run generate` makes of proto/ now, so that
// generated code and the descriptor set reflection serves can never drift from the contract.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

const root = join(import.meta.dirname, "..", "..");
const committed = join(root, "proto", "gen");
const scratch = mkdtempSync(join(tmpdir(), "hostfactory-gen-"));

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

try {
  execFileSync("buf", ["generate", "--output", scratch], { cwd: root, stdio: "inherit" });
  const fresh = join(scratch, "proto", "gen");
  // What server reflection answers from (package.json's generate script writes it the same way).
  execFileSync(
    "buf",
    ["build", "--as-file-descriptor-set", "-o", join(fresh, "descriptor-set.binpb")],
    { cwd: root, stdio: "inherit" },
  );
  const stale = [...new Set([...files(committed), ...files(fresh)])].filter((file) => {
    try {
      return !readFileSync(join(committed, file)).equals(readFileSync(join(fresh, file)));
    } catch {
      return true;
    }
  });
  if (stale.length > 0) {
    console.error(`proto/gen is stale (${stale.join(", ")}): run \`npm run generate\` and commit.`);
    process.exit(1);
  }
  console.log("proto/gen is up to date.");
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
