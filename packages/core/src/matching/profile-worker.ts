/** The worker thread of `standardizedProfiles`: contacts in, their match profiles out (one EncodedBatch per message). */
import { parentPort, workerData } from "node:worker_threads";
import { ProfileEncoder, standardizeBatch, type ProfileWorkerData, type StartedMessage } from "./parallel";
import type { ContactInput } from "../people/record";

const { tableLimit, warmUp } = workerData as ProfileWorkerData;
const encoder = new ProfileEncoder(tableLimit);

// Not interned here (share: false): the encoder gives each repeated value its id, and the receiving side shares it.
const encode = (into: ProfileEncoder, inputs: readonly ContactInput[], day?: Date) => {
  const { profiles, problems } = standardizeBatch(inputs, day, { share: false });
  return into.encode(profiles, problems);
};

/**
 * The warm-up sample goes through the same code, in the same batches, into an encoder of its own
 * (the other side never sees it; it is dropped after). Best effort: a contact that fails here
 * stops the warm-up, and fails again, reported, when it is sent for real. Returns how many were standardized.
 */
function warmUpOn(sample: readonly ContactInput[]): number {
  const warming = new ProfileEncoder(tableLimit);
  let done = 0;
  try {
    for (; done < sample.length; done += 1000) encode(warming, sample.slice(done, done + 1000));
  } catch {}
  return Math.min(done, sample.length);
}

parentPort!.on("message", ({ id, inputs, today }: { id: number; inputs: ContactInput[]; today?: number }) => {
  try {
    const batch = encode(encoder, inputs, today === undefined ? undefined : new Date(today));
    parentPort!.postMessage({ id, batch }, [batch.refs.buffer, batch.keys.buffer, batch.keyStarts.buffer]);
  } catch (err) {
    parentPort!.postMessage({ id, error: err instanceof Error ? err.message : String(err) });
  }
});
parentPort!.postMessage({ started: true, warmed: warmUpOn(warmUp) } satisfies StartedMessage);
