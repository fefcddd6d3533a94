import { createHash } from "node:crypto";
import path from "node:path";
import type { Readable } from "node:stream";
import pRetry from "p-retry";
import type { Needs } from "../ports";
import type { PullerSpec } from "./spec";
import { claimOwner, heartbeat, holderIsDead, LEASE_SECONDS, type LeaseLostError } from "./claim";
import { DeliveryUnknownError, TrustRefusedError, type Transport } from "./transport";

/** What a delivery touches (the Needs shape); `retryMinMs` shortens the retries' backoff in tests. */
export type DeliverDeps = Needs<"pool" | "store" | "notifier" | "log", "bucket"> & { retryMinMs?: number };

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

/** Opens a destination's transport once, when first needed (never for files sent before), and closes it. */
export function lazyTransport(open: () => Promise<Transport>): { get(): Promise<Transport>; close(): Promise<void> } {
  let opened: Promise<Transport> | undefined;
  return {
    get: () =>
      (opened ??= open().catch((err: unknown) => {
        opened = undefined;
        throw err;
      })),
    async close() {
      const t = opened;
      opened = undefined;
      if (t) await (await t.catch(() => undefined))?.close();
    },
  };
}

/**
 * Delivers one object of the bucket (the day's lead hand-off file) to an outbound destination
 * (`direction: "push"`): recorded with its size and sha256, sent once ever (the same content to
 * the same remote path is never sent again), retried with backoff, alerted when it fails. Before
 * each attempt the receiver is asked whether the file is there already (a run that crashed after
 * sending, or lost the answer), so a retry never sends it twice. `open` is called only when
 * something is to be sent.
 */
export async function deliver(
  spec: PullerSpec,
  open: () => Promise<Transport>,
  deps: DeliverDeps,
  key: string,
): Promise<DeliveryResult> {
  const { size } = await deps.store.head(deps.settings.bucket, key);
  const hash = createHash("sha256");
  for await (const chunk of await deps.store.read(deps.settings.bucket, key)) hash.update(chunk as Buffer);
  const sha256 = hash.digest("hex");
  const remotePath = path.posix.basename(key);
  const base = { destination: spec.name, key, remote_path: remotePath, size, sha256 };
  const owner = claimOwner();
  const claimFor = async (takeFrom: string | null) =>
    (
      await deps.pool.query<{ id: string; decision: "send" | "sent" | "busy"; holder: string | null }>(
        "SELECT * FROM puller_delivery_claim($1, $2, $3, $4, $5, $6, $7, $8)",
        [spec.name, key, remotePath, size, sha256, LEASE_SECONDS, owner, takeFrom],
      )
    ).rows[0]!;
  let claim = await claimFor(null);
  // Held by a process of this machine that died (kill -9, a crash): taken over now, not after its lease.
  if (claim.decision === "busy" && claim.holder && holderIsDead(claim.holder)) {
    deps.log.warn("taking over a delivery claimed by a dead process", {
      destination: spec.name,
      key,
      holder: claim.holder,
    });
    claim = await claimFor(claim.holder);
  }
  if (claim.decision === "sent") return { ...base, outcome: "already-sent" };
  if (claim.decision === "busy") return { ...base, outcome: "busy", reason: "another run is delivering this file now" };
  const id = Number(claim.id);
  let describe = `${spec.transport} destination ${spec.name}`;
  let body: Readable | undefined;
  let lost: LeaseLostError | undefined;
  const lease = heartbeat(deps.pool, "puller_deliveries", id, owner, deps.log, (err) => {
    lost = err;
    body?.destroy(err);
  });
  try {
    const { answer, found } = await pRetry(
      async () => {
        if (lost) throw lost;
        const transport = await open();
        describe = transport.describe;
        if (!transport.upload) throw new Error(`${spec.transport} cannot deliver files`);
        const there = await transport.delivered?.(remotePath, { size, sha256 });
        if (there) return { answer: there, found: true };
        if (lost) throw lost;
        body = await deps.store.read(deps.settings.bucket, key);
        return { answer: await transport.upload(body, remotePath, { size, sha256 }), found: false };
      },
      {
        retries: spec.attempts - 1,
        minTimeout: deps.retryMinMs ?? 1000,
        factor: 2,
        shouldRetry: ({ error }) =>
          !(error instanceof TrustRefusedError || error instanceof DeliveryUnknownError || lost !== undefined),
        onFailedAttempt: ({ error, attemptNumber }) =>
          deps.log.warn("delivery attempt failed", { destination: spec.name, key, attempt: attemptNumber, error }),
      },
    );
    lease.stop();
    await deps.pool.query("SELECT puller_delivery_done($1, true, $2)", [id, answer]);
    return { ...base, outcome: found ? "already-sent" : "sent", answer };
  } catch (err) {
    lease.stop();
    const reason = `${(err as Error).name}: ${(err as Error).message}`;
    // A run that lost its claim leaves the row to the run that holds it now.
    if (!lost) await deps.pool.query("SELECT puller_delivery_done($1, false, $2)", [id, reason]);
    await deps.notifier.alert(
      `leadpipe delivery ${spec.name}: ${remotePath} FAILED`.slice(0, 100),
      `Delivering s3://${deps.settings.bucket}/${key} (${size} bytes, sha256 ${sha256}) to ${describe} failed: ${reason}. ` +
        "The next run sends it again (after checking the receiver does not have it); a sent file is never sent twice.",
    );
    return { ...base, outcome: "failed", reason };
  }
}

/**
 * Sends a file (the day's lead hand-off) to every outbound destination, and with it every earlier
 * file under the same prefix that a destination has not received yet (a failed delivery is
 * retried by each later run until it is sent). One destination failing never stops another.
 */
export async function deliverToAll(
  destinations: readonly PullerSpec[],
  open: (spec: PullerSpec) => Promise<Transport>,
  deps: DeliverDeps,
  key: string,
  prefix: string,
): Promise<DeliveryResult[]> {
  const results: DeliveryResult[] = [];
  for (const spec of destinations.filter((d) => d.direction === "push")) {
    const { rows } = await deps.pool.query<{ object_key: string }>(
      "SELECT object_key FROM puller_deliveries_unsent($1, $2) WHERE object_key <> $3",
      [spec.name, prefix, key],
    );
    const transport = lazyTransport(() => open(spec));
    try {
      for (const k of [...rows.map((r) => r.object_key), key]) {
        results.push(
          await deliver(spec, () => transport.get(), deps, k).catch((err: Error) => {
            // Before the claim (the object cannot be read): nothing was recorded or sent.
            const reason = `${err.name}: ${err.message}`;
            deps.log.error("delivery could not start", { destination: spec.name, key: k, error: err });
            return { ...unread(spec, k), outcome: "failed" as const, reason };
          }),
        );
      }
    } finally {
      await transport.close();
    }
  }
  return results;
}

const unread = (spec: PullerSpec, key: string) => ({
  destination: spec.name,
  key,
  remote_path: path.posix.basename(key),
  size: 0,
  sha256: "",
});
