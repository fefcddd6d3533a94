import { readdirSync } from "node:fs";
import path from "node:path";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";

/*
 * The offline matching engine (packages/core/src/matching/: `leadpipe match` and the benchmarks) stays off the
 * pipeline's path: no Lambda handler's bundle holds any of its modules, while the people rules it shares with
 * the pipeline (people/match.ts) are there.
 */
describe("the offline matching engine", () => {
  it("is in no Lambda handler's bundle", async () => {
    const entryPoints = readdirSync("functions")
      .filter((f) => f.endsWith(".ts"))
      .map((f) => path.join("functions", f));
    const result = await build({
      entryPoints,
      bundle: true,
      write: false,
      outdir: "out",
      platform: "node",
      format: "esm",
      metafile: true,
      logLevel: "silent",
      plugins: [
        {
          // Our own modules are followed; every package of node_modules is left out (only our imports matter).
          name: "only-ours",
          setup(b) {
            b.onResolve({ filter: /^[^./]/ }, (a) =>
              a.path.startsWith("@leadpipe/") ? undefined : { external: true },
            );
          },
        },
      ],
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(entryPoints.length).toBeGreaterThan(10);
    expect(inputs).toContain("packages/core/src/people/match.ts");
    expect(inputs.filter((i) => i.includes("core/src/matching/"))).toEqual([]);
  }, 60_000);
});
