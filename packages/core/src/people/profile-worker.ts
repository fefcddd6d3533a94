/** The worker thread of `standardizedProfiles`: contacts in, their match profiles out (one JSON text per batch). */
import { parentPort } from "node:worker_threads";
import { profileOf } from "./match";
import { profileRow } from "./parallel";
import { standardizeContact, type ContactInput } from "./record";

parentPort!.on("message", ({ id, inputs, today }: { id: number; inputs: ContactInput[]; today?: number }) => {
  try {
    const day = today === undefined ? undefined : new Date(today);
    const rows = inputs.map((input) => profileRow(profileOf(standardizeContact(input, day), { share: false })));
    parentPort!.postMessage({ id, json: JSON.stringify(rows) });
  } catch (err) {
    parentPort!.postMessage({ id, error: err instanceof Error ? err.message : String(err) });
  }
});
