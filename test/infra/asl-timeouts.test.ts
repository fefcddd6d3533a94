import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../stacks/synth";

interface State {
  Type: string;
  TimeoutSeconds?: number;
  Iterator?: { States: Record<string, State> };
  ItemProcessor?: { States: Record<string, State> };
  Branches?: { States: Record<string, State> }[];
}

/** Every Task state of a definition, nested ones included, by path. */
function tasks(states: Record<string, State>, prefix = ""): [string, State][] {
  return Object.entries(states).flatMap(([name, s]) => [
    ...(s.Type === "Task" ? [[prefix + name, s] as [string, State]] : []),
    ...[s.Iterator, s.ItemProcessor, ...(s.Branches ?? [])].flatMap((inner) =>
      inner ? tasks(inner.States, `${prefix}${name}/`) : [],
    ),
  ]);
}

describe("the state machines' tasks", () => {
  // Without TimeoutSeconds the States Language's default applies, 60 s, and the local runtime (aws-local-stepfunctions)
  // keeps it: a people consumer resolving a big list failed its loop with States.Timeout every minute while it ran on.
  it("each name its timeout, at most a Lambda's 15 minutes", () => {
    const files = readdirSync(path.join(PROJECT_ROOT, "stacks")).filter((f) => f.endsWith(".asl.json"));
    expect(files.length).toBeGreaterThanOrEqual(3);
    const missing: string[] = [];
    for (const file of files) {
      const definition = JSON.parse(readFileSync(path.join(PROJECT_ROOT, "stacks", file), "utf8")) as {
        States: Record<string, State>;
      };
      for (const [name, task] of tasks(definition.States)) {
        if (task.TimeoutSeconds === undefined || task.TimeoutSeconds > 900) missing.push(`${file} ${name}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
