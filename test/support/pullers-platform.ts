import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Pullers } from "@leadpipe/core";
import { afterAll, beforeAll } from "vitest";
import { s3Store } from "@leadpipe/core/adapters/s3";
import { createSnsClient, snsNotifier } from "@leadpipe/core/adapters/sns";
import { LocalPlatform } from "../../packages/local/src/platform";
import { runPuller, waitForPulledImports, type LocalPullDeps } from "../../packages/local/src/pullers";
import { SFTP_USER, type Sshd } from "./peers";

const sample = readFileSync(
  path.resolve(__dirname, "../../fixtures/sample-day/partner-b-mortgages-2026-11-20.csv"),
  "utf8",
);

/** A valid partner B file whose mortgage ids carry `tag` (so each variant is new content). */
export const variant = (tag: string) => sample.replaceAll("B-1000", `B-${tag}`);

/** [file name, outcome] of each result, sorted. */
export const outcomes = (rs: Pullers.PullResult[]) => rs.map((r) => [path.basename(r.path), r.outcome]).sort();

export const silentLog = {
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLog;
  },
};

export interface PullerPlatform {
  platform: LocalPlatform;
  deps: LocalPullDeps;
  tmp: string;
  /** Runs the puller once and waits for the imports of what it landed. */
  pullOnce(spec: Pullers.PullerSpec): Promise<Pullers.PullResult[]>;
  close(): Promise<void>;
}

/** A local platform in a scratch home, with the deps a puller runs with (alerts to the platform's SNS endpoint). */
export async function startPullerPlatform(prefix: string): Promise<PullerPlatform> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), prefix));
  process.env.LOG_LEVEL = "silent";
  const platform = await LocalPlatform.start({
    home: path.join(tmp, "home"),
    chunkRows: 100,
    retryIntervalMs: 20,
    log: () => undefined,
  });
  const deps: LocalPullDeps = {
    pool: platform.pool,
    store: s3Store(platform.s3),
    settings: { bucket: platform.bucket },
    retryMinMs: 50,
    notifier: snsNotifier(createSnsClient(process.env.SNS_ENDPOINT), platform.topicArn),
  };
  return {
    platform,
    deps,
    tmp,
    pullOnce: async (spec) => waitForPulledImports(platform.pool, await runPuller(spec, deps, "cli"), 120_000),
    async close() {
      await platform.close();
      if (platform.pg?.dataDir) rmSync(platform.pg.dataDir, { recursive: true, force: true });
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** A test server holding a partner's files: OpenSSH or vsftpd (test/support/peers.ts). */
export interface FilePeer {
  /** The folder the peer serves. */
  dir: string;
  write(name: string, content: string | Buffer, mtime?: Date): string;
  stop(): Promise<void>;
}

/**
 * Boots a file peer and a puller platform for a test file (beforeAll) and stops both afterwards;
 * `ready` hands them to the file's own variables.
 */
export function usePullerPeer<P extends FilePeer>(
  prefix: string,
  startPeer: () => Promise<P>,
  ready: (peer: P, env: PullerPlatform) => void,
): void {
  let peer: P | undefined;
  let env: PullerPlatform | undefined;
  beforeAll(async () => {
    peer = await startPeer();
    env = await startPullerPlatform(prefix);
    ready(peer, env);
  });
  afterAll(async () => {
    await env?.close();
    await peer?.stop();
  });
}

/** The peer's folder `name` (made on first use, owned by `owner` so the peer's user may write and delete in it). */
export function peerFolder(peer: FilePeer, name: string, owner: { uid: number; gid: number }): string {
  const dir = path.join(peer.dir, name);
  if (!existsSync(dir)) {
    mkdirSync(dir);
    chownSync(dir, owner.uid, owner.gid);
  }
  return dir;
}

/** Writes a file into the folder of a puller's spec on its peer. */
export const putFile = (peer: FilePeer, spec: Pullers.PullerSpec, name: string, content: string, mtime?: Date) =>
  peer.write(path.join(path.basename((spec as { dir: string }).dir), name), content, mtime);

/**
 * A pullers.json entry for an SFTP puller `name` on the test's OpenSSH: its own folder there, the
 * client key, the pinned host key, every `*.csv`, stable after 1 s; `extra` adds or replaces fields.
 */
export function sftpEntry(
  sshd: Sshd,
  name: string,
  extra: Record<string, unknown> = {},
): { name: string } & Record<string, unknown> {
  return {
    name,
    transport: "sftp",
    host: "127.0.0.1",
    port: sshd.port,
    username: SFTP_USER,
    private_key_file: sshd.clientKeyFile,
    host_key: sshd.hostKeyFingerprint,
    dir: peerFolder(sshd, name, sshd),
    pattern: "*.csv",
    stable_seconds: 1,
    ...extra,
  };
}
