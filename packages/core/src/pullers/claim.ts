import { readFileSync, readlinkSync } from "node:fs";
import os from "node:os";
import type { Pool } from "../db";
import type { Logger } from "../log";

/*
 * Claims on a landing or a delivery (rules in sql/functions/pullers.sql): a short lease that the
 * run renews while it works, held by a named process. A run that finds a claim held by a process
 * of its own machine that no longer exists (kill -9, a crash) takes it over at once; otherwise it
 * waits for the lease to run out, at most LEASE_SECONDS after the holder's last renewal.
 */

/** How long a claim lasts without renewal; the holder renews it every third of that. */
export const LEASE_SECONDS = 60;

/** The claim's holder stopped holding it (it could not renew in time, or another run took it): stop the work. */
export class LeaseLostError extends Error {
  override readonly name = "LeaseLostError";
}

interface ProcessId {
  boot: string;
  pidNamespace: string;
  pid: number;
  started: string;
}

/** A process's start time since boot, in clock ticks (field 22 of /proc/<pid>/stat); throws when there is no such process. */
function startTime(pid: number | "self"): string | undefined {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
}

/** Linux: the kernel's boot id, the pid namespace and the process's start time (so a reused pid is not it). */
function linuxProcess(pid: number | "self"): ProcessId | undefined {
  try {
    const boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    const pidNamespace = readlinkSync("/proc/self/ns/pid").replace(/\D/g, "");
    const started = startTime(pid);
    if (!boot || !pidNamespace || !started) return undefined;
    return { boot, pidNamespace, pid: pid === "self" ? process.pid : pid, started };
  } catch {
    return undefined;
  }
}

let self: string | undefined;

/** This process as a claim's holder: `linux:<boot id>:<pid namespace>:<pid>:<start time>@<host>`, elsewhere `<host>:<pid>`. */
export function claimOwner(): string {
  if (self) return self;
  const p = linuxProcess("self");
  self = p
    ? `linux:${p.boot}:${p.pidNamespace}:${p.pid}:${p.started}@${os.hostname()}`
    : `${os.hostname()}:${process.pid}`;
  return self;
}

/**
 * Whether a claim's holder is a process seen dead: on this machine (same kernel boot and pid
 * namespace), and its pid is gone or belongs to a process started at another time. Anything not
 * provably dead (another machine, a Lambda, an unreadable /proc) counts as alive: its lease decides.
 */
export function holderIsDead(holder: string): boolean {
  const m = /^linux:([^:]+):(\d+):(\d+):(\d+)@/.exec(holder);
  const mine = linuxProcess("self");
  if (!m || !mine || m[1] !== mine.boot || m[2] !== mine.pidNamespace) return false;
  const pid = Number(m[3]);
  if (pid === process.pid) return false;
  try {
    return startTime(pid) !== m[4];
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ENOENT";
  }
}

/**
 * Renews a claim every third of its lease until stopped. When a renewal finds the claim gone, or
 * renewals have failed for two thirds of the lease (the database unreachable), `lost` is called
 * once, before the lease can run out, so the work stops before another run may start it again.
 */
export function heartbeat(
  pool: Pool,
  table: "puller_files" | "puller_deliveries",
  id: number,
  owner: string,
  log: Logger,
  lost: (err: LeaseLostError) => void,
  leaseSeconds = LEASE_SECONDS,
): { stop(): void } {
  let renewedAt = Date.now();
  let stopped = false;
  const give = (why: string) => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    lost(new LeaseLostError(`the claim on ${table} ${id} was lost: ${why}`));
  };
  const timer = setInterval(
    () => {
      pool
        .query<{ held: boolean }>("SELECT puller_claim_renew($1, $2, $3, $4) AS held", [table, id, owner, leaseSeconds])
        .then(
          ({ rows: [r] }) => {
            if (stopped) return;
            if (r?.held) renewedAt = Date.now();
            else give("another run holds it now");
          },
          (err: Error) => {
            log.warn("could not renew a claim", { table, id, error: err });
            if (Date.now() - renewedAt > (leaseSeconds * 2000) / 3) give(`not renewed for ${leaseSeconds * (2 / 3)} s`);
          },
        );
    },
    (leaseSeconds * 1000) / 3,
  );
  timer.unref();
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
