/** The worker thread of `standardizedProfiles`: contacts in, their match profiles out (one EncodedBatch per message). */
import { parentPort, workerData } from "node:worker_threads";
import { profileOf } from "./match";
import { problemsOf, ProfileEncoder, type ProfileWorkerData } from "./parallel";
import { standardizeContact, type ContactInput } from "./record";

const { tableLimit, warmUp } = workerData as ProfileWorkerData;
const encoder = new ProfileEncoder(tableLimit);

// Not interned here (share: false): the encoder gives each repeated value its id, and the receiving side shares it.
const encode = (into: ProfileEncoder, inputs: readonly ContactInput[], day?: Date) => {
  const records = inputs.map((input) => standardizeContact(input, day));
  return into.encode(records.map((r) => profileOf(r, { share: false })), problemsOf(records));
};

// The warm-up sample goes through the same code, in the same batches, into an encoder of its own (the other side never sees it).
const warming = new ProfileEncoder(tableLimit);
// Best effort: a contact that fails here fails again, and is reported, when it is sent for real.
try {
  for (let from = 0; from < warmUp.length; from += 1000) encode(warming, warmUp.slice(from, from + 1000));
} catch {}

parentPort!.on("message", ({ id, inputs, today }: { id: number; inputs: ContactInput[]; today?: number }) => {
  try {
    const batch = encode(encoder, inputs, today === undefined ? undefined : new Date(today));
    parentPort!.postMessage({ id, batch }, [batch.refs.buffer, batch.keys.buffer, batch.keyStarts.buffer]);
  } catch (err) {
    parentPort!.postMessage({ id, error: err instanceof Error ? err.message : String(err) });
  }
});
parentPort!.postMessage("started");
