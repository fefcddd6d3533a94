import { describe, expect, it } from "vitest";
import { maxCandidatesOf } from "../../functions/resolve-people";

describe("the people consumer's PEOPLE_MAX_CANDIDATES", () => {
  it("takes a positive whole number, leaves the default when unset, and refuses anything else by name", () => {
    expect(maxCandidatesOf(undefined)).toBeUndefined();
    expect(maxCandidatesOf("")).toBeUndefined();
    expect(maxCandidatesOf("250000")).toBe(250_000);
    for (const bad of ["0", "-5", "2.5", "1e3x", "lots"])
      expect(() => maxCandidatesOf(bad)).toThrow(
        `PEOPLE_MAX_CANDIDATES must be a positive whole number (got ${JSON.stringify(bad)})`,
      );
  });
});
