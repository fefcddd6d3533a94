import { createHash } from "node:crypto";
import path from "node:path";
import pRetry from "p-retry";
import type { Pool } from "../db";
import type { Logger } from "../log";
import type { Notifier, ObjectStore } from "../ports";
import type { PullerSpec } from "./spec";
import type { Transport } from "./transport";

export interface DeliverDeps {
  pool: Pool;
  store: ObjectStore;
  bucket: string;
  notifier: Notifier;
  log: Logger;
  retryMinMs?: number;
}

export interface DeliveryResult {
  destination: string;
  key: string;
  remote_path: string;
  size: number;
  sha256: string;
  outcome: "sent" | "already-sent" | "busy" | "failed";
  answer?: string;
  reason?: string;
}

/**
 * Delivers one object of the bucket (the day's lead hand-off file) to an outbound destination
 * (`direction: "push"`): recorded with its size and sha256, sent once ever (the same content to
 * the same remote path is never sent again), retried with backoff, alerted when it fails.
 */
export async function deliver(
  spec: PullerSpec,
  transport: Transport,
  deps: DeliverDeps,
  key: string,
): Promise<DeliveryResult> {
  if (!transport.upload) throw new Error(`${spec.transport} cannot deliver files`);
  const { size } = await deps.store.head(deps.bucket, key);
  const hash = createHash("sha256");
  for await (const chunk of await deps.store.read(deps.bucket, key)) hash.update(chunk as Buffer);
  const sha256 = hash.digest("hex");
  const remotePath = path.posix.basename(key);
  const base = { destination: spec.name, key, remote_path: remotePath, size, sha256 };
  const {
    rows: [claim],
  } = await deps.pool.query<{ id: string; decision: "send" | "sent" | "busy" }>(
    "SELECT * FROM puller_delivery_claim($1, $2, $3, $4, $5, 3600)",
    [spec.name, key, remotePath, size, sha256],
  );
  if (claim!.decision === "sent") return { ...base, outcome: "already-sent" };
  if (claim!.decision === "busy")
    return { ...base, outcome: "busy", reason: "another run is delivering this file now" };
  try {
    const answer = await pRetry(async () => transport.upload!(await deps.store.read(deps.bucket, key), remotePath), {
      retries: spec.attempts - 1,
      minTimeout: deps.retryMinMs ?? 1000,
      factor: 2,
      onFailedAttempt: ({ error, attemptNumber }) =>
        deps.log.warn("delivery attempt failed", { destination: spec.name, key, attempt: attemptNumber, error }),
    });
    await deps.pool.query("SELECT puller_delivery_done($1, true, $2)", [claim!.id, answer]);
    return { ...base, outcome: "sent", answer };
  } catch (err) {
    const reason = `${(err as Error).name}: ${(err as Error).message}`;
    await deps.pool.query("SELECT puller_delivery_done($1, false, $2)", [claim!.id, reason]);
    await deps.notifier.alert(
      `leadpipe delivery ${spec.name}: ${remotePath} FAILED`.slice(0, 100),
      `Delivering s3://${deps.bucket}/${key} (${size} bytes, sha256 ${sha256}) to ${transport.describe} failed after ${spec.attempts} attempt(s): ${reason}. ` +
        "The next run sends it again; a sent file is never sent twice.",
    );
    return { ...base, outcome: "failed", reason };
  }
}
