/**
 * The console's load generator, in a process of its own (bench/console.ts forks it, so its CPU is not
 * the server's): `sessions` people log in, then each walks the pages in turn for `seconds`, waiting a
 * think time between pages (uniform in [0.5, 1.5] × thinkMs; 0: none). The client latency of each answer
 * (request sent to last byte read) goes back to the parent over IPC, by page.
 */
import { ConsoleClient } from "../test/support/console-client";

export interface LoadPlan {
  url: string;
  username: string;
  password: string;
  pages: string[];
  sessions: number;
  seconds: number;
  thinkMs: number;
}

export type LoadMessage =
  | { type: "started" }
  | { type: "done"; times: Record<string, number[]>; errors: number; statuses: Record<string, number> };

const send = (m: LoadMessage) => new Promise<void>((resolve) => process.send!(m, () => resolve()));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function run(plan: LoadPlan): Promise<void> {
  const clients: ConsoleClient[] = [];
  for (let i = 0; i < plan.sessions; i++) {
    const c = new ConsoleClient(plan.url);
    const r = await c.login(plan.username, plan.password);
    if (r.status !== 303) throw new Error(`login of session ${i}: HTTP ${r.status}`);
    clients.push(c);
  }
  const times: Record<string, number[]> = Object.fromEntries(plan.pages.map((p) => [p, []]));
  const statuses: Record<string, number> = {};
  let errors = 0;
  await send({ type: "started" });
  const until = Date.now() + plan.seconds * 1000;
  await Promise.all(
    clients.map(async (c, k) => {
      // people do not arrive in step: each session starts after a part of one think time
      if (plan.thinkMs > 0) await sleep((k / plan.sessions) * plan.thinkMs);
      for (let i = k; Date.now() < until; i++) {
        const p = plan.pages[i % plan.pages.length]!;
        const t0 = performance.now();
        const res = await c.get(p);
        await res.arrayBuffer();
        const ms = performance.now() - t0;
        if (res.status !== 200) {
          errors++;
          statuses[`${res.status} ${p}`] = (statuses[`${res.status} ${p}`] ?? 0) + 1;
        }
        times[p]!.push(ms);
        if (plan.thinkMs > 0) await sleep(plan.thinkMs * (0.5 + Math.random()));
      }
    }),
  );
  await send({ type: "done", times, errors, statuses });
}

const plan = JSON.parse(process.argv[2] ?? "null") as LoadPlan | null;
if (!plan || !process.send) {
  process.stderr.write("bench/console-load.ts is forked by bench/console.ts with a plan (JSON) and an IPC channel\n");
  process.exit(2);
}
run(plan).then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`load generator: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
