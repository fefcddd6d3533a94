import middy from "@middy/core";
import { ConfigError, Pullers, Sources, config } from "@leadpipe/core";
import { openTransport, pgDeltaLinks, secretsManagerReader } from "@leadpipe/core/adapters/pullers";
import { platform } from "./platform";

/** The puller this function runs: its spec (no secrets, only the secret's name) from PULLER_SPEC, parsed at cold start. */
function specFromEnv(): Pullers.PullerSpec {
  const raw = process.env.PULLER_SPEC;
  if (!raw)
    throw new ConfigError("PULLER_SPEC is not set: the puller's spec (one entry of the stage's pullers) is missing");
  return Pullers.parsePullers(`[${raw}]`, "PULLER_SPEC")[0]!;
}
const spec = specFromEnv();

/**
 * EventBridge Scheduler: {} runs the puller once; {check: "expected"} (the expected_by schedule)
 * alerts once a day when nothing landed. Failures are alerted by the use case itself.
 */
export const handler = middy(async (event: { check?: "expected"; time?: string } = {}) => {
  const deps = await platform();
  if (event.check === "expected") {
    return { puller: spec.name, alerted: await Pullers.checkExpected(spec, deps, new Date(event.time ?? Date.now())) };
  }
  const transport = await openTransport(spec, secretsManagerReader(config().AWS_REGION), pgDeltaLinks(deps.pool));
  try {
    const results = await Pullers.pull(
      spec,
      transport,
      { ...deps, sourceOf: (name) => Sources.fromFileName(name)?.name },
      { trigger: "lambda" },
    );
    const outcomes: Record<string, number> = {};
    for (const r of results) outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
    deps.log.info("puller ran", { puller: spec.name, outcomes });
    return { puller: spec.name, outcomes };
  } finally {
    await transport.close();
  }
});
