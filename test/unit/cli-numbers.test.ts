import { describe, expect, it } from "vitest";
import { generateCommand } from "../../packages/local/src/commands/generate";
import { wholeNumber } from "../../packages/local/src/commands/numbers";
import { statusCommand } from "../../packages/local/src/commands/status";

describe("whole-number options", () => {
  it("takes whole numbers in range and refuses the rest with the value it got", () => {
    expect(wholeNumber(1)("200")).toBe(200);
    expect(wholeNumber(0)(" 0 ")).toBe(0);
    expect(wholeNumber(1, 1000)("1000")).toBe(1000);
    for (const bad of ["2OO", "", " ", "1.5", "-3", "1e400", "1e3", "0x10", "+5", "99999999999999999999"])
      expect(() => wholeNumber(1)(bad)).toThrow(`expected a whole number from 1, got "${bad}"`);
    expect(() => wholeNumber(1, 1000)("1001")).toThrow('expected a whole number from 1 to 1000, got "1001"');
  });

  it("refuses a bad --limit or --rows before the command runs (no database, no files)", async () => {
    const parse = (command: ReturnType<typeof statusCommand>, args: string[]) =>
      command
        .exitOverride()
        .configureOutput({ writeErr: () => {} })
        .parseAsync(["node", command.name(), ...args]);
    await expect(parse(statusCommand(), ["--limit", "5000"])).rejects.toThrow(
      `option '--limit <n>' argument '5000' is invalid. expected a whole number from 1 to 1000, got "5000"`,
    );
    await expect(parse(statusCommand(), ["--limit", "abc"])).rejects.toThrow("argument 'abc' is invalid");
    await expect(parse(generateCommand(), ["--rows", "1O0", "--out", "/nonexistent/never"])).rejects.toThrow(
      `option '--rows <n>' argument '1O0' is invalid. expected a whole number from 1, got "1O0"`,
    );
  });
});
