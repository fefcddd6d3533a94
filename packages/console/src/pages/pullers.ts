import { Pullers } from "@leadpipe/core";
import { html, show, table, type Html } from "../html";
import { csrfField } from "../layout";
import { BadRequest, NotFound, field, type RequestContext } from "../context";
import { OUTCOMES, pullerSummary } from "../data/pullers";

const importLink = (v: unknown) => (v ? html`<a href="/imports/${String(v)}">${String(v).slice(0, 8)}</a>` : "");
const wrap = (v: unknown) => html`<span class="wrap">${show(v)}</span>`;
const pullerLink = (v: unknown) => html`<a href="/pulls?puller=${encodeURIComponent(String(v))}">${String(v)}</a>`;

/** Today's page section: the pullers' last runs, their failed files, and the files expected but missing. */
export async function pullersSection(x: RequestContext): Promise<Html> {
  const specs = x.deps.pullers ?? [];
  const s = await pullerSummary(x.deps.pool, specs, new Date());
  if (!specs.length && !s.lastRuns.length) return html``;
  return html`<h2>Pullers: last runs <a class="more" href="/pulls">the ledger</a></h2>
${table(["puller", "schedule", "started_at", "finished_at", "trigger", ...OUTCOMES, "error"], s.lastRuns, {
  id: "puller-runs",
  cell: (c, v) => (c === "puller" ? pullerLink(v) : c === "error" ? wrap(v) : show(v)),
})}
<h2>Files expected but missing</h2>
${table(["puller", "day", "expected_by", "timezone", "what"], s.missing as unknown as Record<string, unknown>[], {
  id: "pullers-missing",
  cell: (c, v) => (c === "puller" ? pullerLink(v) : show(v)),
})}
<h2>Puller failures</h2>
${table(["puller", "path", "attempts", "reason", "last_seen_at"], s.failed as unknown as Record<string, unknown>[], {
  id: "puller-failures",
  cell: (c, v) => (c === "puller" ? pullerLink(v) : c === "reason" ? wrap(v) : show(v)),
})}`;
}

const PULLER_NAME = /^[a-z0-9-]{1,64}$/;

/** /pulls: the ledger (per puller: path, size, state, landed key, import) and the recent runs; ops may force a re-pull. */
export async function pullsPage(x: RequestContext) {
  const puller = x.c.req.query("puller") || undefined;
  if (puller !== undefined && !PULLER_NAME.test(puller)) throw new BadRequest("a puller name is a-z, 0-9 and -");
  const [files, runs] = await Promise.all([
    Pullers.ledger(x.deps.pool, { limit: 500, puller }),
    Pullers.recentRuns(x.deps.pool, { limit: 50, puller }),
  ]);
  const ops = x.user.role === "ops";
  const forced = x.c.req.query("forced");
  const names = [...new Set([...(x.deps.pullers ?? []).map((s) => s.name), ...runs.map((r) => r.puller)])].sort();
  const body = html`
${forced ? html`<p class="notice" role="status">Forced a re-pull of ${forced}: ${x.c.req.query("run") === "started" ? "a run started; reload to see it land." : "it lands at the puller's next run."}</p>` : ""}
<form class="filters" method="get" action="/pulls"><label>Puller <select name="puller"><option value="">all</option>
${names.map((n) => html`<option${n === puller ? html` selected` : ""}>${n}</option>`)}</select></label>
<button type="submit">Show</button></form>
<h2>Ledger</h2>
${table(
  [
    "puller",
    "path",
    "size",
    "state",
    "import_id",
    ...(ops ? ["force"] : []),
    "reason",
    "attempts",
    "landed_at",
    "object_key",
    "last_seen_at",
  ],
  files as unknown as Record<string, unknown>[],
  {
    id: "ledger",
    cell: (c, v, row) =>
      c === "import_id"
        ? importLink(v)
        : c === "reason"
          ? wrap(v)
          : c === "puller"
            ? pullerLink(v)
            : c === "force"
              ? row.forced
                ? "forced"
                : html`<form class="inline" method="post" action="/pulls/force">${csrfField(x.page.csrf)}
<input type="hidden" name="puller" value="${String(row.puller)}"><input type="hidden" name="path" value="${String(row.path)}">
<button type="submit">Re-pull</button></form>`
              : show(v),
  },
)}
<h2>Runs</h2>
${table(
  ["id", "puller", "trigger", "started_at", "finished_at", "outcomes", "error"],
  runs as unknown as Record<string, unknown>[],
  {
    id: "pull-runs",
    cell: (c, v) => (c === "error" ? wrap(v) : show(v)),
  },
)}`;
  return x.render("Pulls", body);
}

/**
 * Force a re-pull of one remote file (ops): `Pullers.force`, the path of `leadpipe pull --force`, marks
 * the newest version of the path to land again; where the console can run the puller (locally) it
 * runs it now, and where it can start one (AWS: the puller's function, invoked asynchronously) it
 * starts it. The request is in the audit log, and a local run's outcome; a start that fails leaves the
 * file to the next scheduled run.
 */
export async function forcePull(x: RequestContext) {
  const puller = field(x.body, "puller")?.trim() ?? "";
  const remotePath = field(x.body, "path") ?? "";
  if (!PULLER_NAME.test(puller)) throw new BadRequest("puller: a puller name (a-z, 0-9 and -) is required");
  if (!remotePath || remotePath.length > 1024 || /[\0\r\n]/.test(remotePath))
    throw new BadRequest("path: the remote file's path (as the ledger lists it) is required");
  const target = `${puller}:${remotePath}`;
  if (!(await Pullers.force(x.deps.writer, puller, remotePath))) {
    await x.audit("pull.force", target, "refused", { reason: "never seen by this puller" });
    throw new NotFound(`puller ${puller} has never seen ${remotePath}: nothing to force`);
  }
  const run = x.deps.pullNow;
  const start = run ? undefined : x.deps.startPull;
  let startError: string | undefined;
  if (start)
    await start(puller).catch((err: Error) => {
      startError = err.message;
      x.deps.log.error("starting a forced pull failed", { puller, error: err.message });
    });
  const started = Boolean(run || (start && startError === undefined));
  await x.audit("pull.force", target, "ok", {
    puller,
    path: remotePath,
    run: run ? "now" : started ? "started" : "next scheduled run",
    ...(startError ? { error: startError } : {}),
  });
  if (run) {
    // The run may wait for files to become stable: the answer does not wait for it, the audit log records it.
    void run(puller)
      .then(
        (results) => {
          const mine = results.find((r) => r.path === remotePath);
          return x.audit("pull.run", target, results.some((r) => r.outcome === "failed") ? "error" : "ok", {
            outcome: mine?.outcome ?? "not listed",
            ...(mine?.reason ? { reason: mine.reason } : {}),
            ...(mine?.key ? { key: mine.key } : {}),
          });
        },
        (err: Error) => x.audit("pull.run", target, "error", { error: err.message }),
      )
      .catch((err: Error) => x.deps.log.error("auditing a forced pull failed", { error: err.message }));
  }
  const query = `puller=${encodeURIComponent(puller)}&forced=${encodeURIComponent(remotePath)}`;
  return x.c.redirect(`/pulls?${query}${started ? "&run=started" : ""}`, 303);
}
