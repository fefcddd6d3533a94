/** The worker thread of `standardizedProfiles`: contacts in, their match profiles out (one EncodedBatch per message). */
import { parentPort, workerData } from "node:worker_threads";
import { profileOf } from "./match";
import { ProfileEncoder, type ProfileWorkerData } from "./parallel";
import { standardizeContact, type ContactInput } from "./record";

const encoder = new ProfileEncoder((workerData as ProfileWorkerData).tableLimit);

parentPort!.on("message", ({ id, inputs, today }: { id: number; inputs: ContactInput[]; today?: number }) => {
  try {
    const day = today === undefined ? undefined : new Date(today);
    // Not interned here (share: false): the encoder gives each repeated value its id, and the receiving side shares it.
    const batch = encoder.encode(inputs.map((input) => profileOf(standardizeContact(input, day), { share: false })));
    parentPort!.postMessage({ id, batch }, [batch.refs.buffer, batch.keys.buffer, batch.keyStarts.buffer]);
  } catch (err) {
    parentPort!.postMessage({ id, error: err instanceof Error ? err.message : String(err) });
  }
});
parentPort!.postMessage("started");
