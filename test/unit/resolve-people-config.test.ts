import { describe, expect, it } from "vitest";
import { loadConfig } from "../../packages/core/src/config";

describe("the people consumer's PEOPLE_MAX_CANDIDATES", () => {
  const base = { LANDING_BUCKET: "landing", DATABASE_URL: "postgres://localhost/leadpipe" };
  it("takes a positive whole number, leaves the default when unset, and refuses anything else by name", () => {
    expect(loadConfig(base).PEOPLE_MAX_CANDIDATES).toBeUndefined();
    expect(loadConfig({ ...base, PEOPLE_MAX_CANDIDATES: "250000" }).PEOPLE_MAX_CANDIDATES).toBe(250_000);
    for (const bad of ["0", "-5", "2.5", "1e3x", "lots"])
      expect(() => loadConfig({ ...base, PEOPLE_MAX_CANDIDATES: bad })).toThrow(
        /missing or invalid environment variable PEOPLE_MAX_CANDIDATES/,
      );
  });
});
