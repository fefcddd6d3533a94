/**
 * The legacy database's connection in AWS: a Secrets Manager secret in RDS's shape, turned into the
 * source URL inside the Lambda (never on a command line, in an input or a log).
 */
import { describe, expect, it } from "vitest";
import { legacySourceUrl } from "../../packages/core/src/adapters/secrets";
import { redact } from "../../packages/core/src/migration/readers";

const secret = {
  engine: "mysql",
  host: "crm.legacy.internal",
  port: 3307,
  username: "leg acy",
  password: "p@ss:/w#rd",
  dbname: "crm",
};

describe("legacySourceUrl", () => {
  it("builds the mysql:// URL with every field encoded, and the label drops the password", () => {
    const url = legacySourceUrl(secret);
    expect(url).toBe("mysql://leg%20acy:p%40ss%3A%2Fw%23rd@crm.legacy.internal:3307/crm");
    const u = new URL(url);
    expect(decodeURIComponent(u.password)).toBe("p@ss:/w#rd");
    expect(decodeURIComponent(u.username)).toBe("leg acy");
    expect(redact(url)).toBe("mysql://leg%20acy@crm.legacy.internal:3307/crm");
  });

  it("defaults to MySQL on 3306; takes mariadb as MySQL", () => {
    const { engine: _e, port: _p, ...rest } = secret;
    expect(legacySourceUrl(rest)).toMatch(/^mysql:\/\/.*@crm\.legacy\.internal:3306\/crm$/);
    expect(legacySourceUrl({ ...secret, engine: "mariadb", port: "3306" })).toMatch(/:3306\/crm$/);
  });

  it("names what is missing or wrong, never a value", () => {
    expect(() => legacySourceUrl({ ...secret, password: "", dbname: undefined }, "leadpipe/legacy/crm")).toThrow(
      "leadpipe/legacy/crm: missing password, dbname",
    );
    expect(() => legacySourceUrl({ ...secret, engine: "postgres" })).toThrow(
      /engine must be mysql or mariadb, got "postgres"/,
    );
    expect(() => legacySourceUrl({ ...secret, port: 70000 })).toThrow("the legacy secret: port is not a port number");
    const refused = (() => {
      try {
        legacySourceUrl({ ...secret, port: "x" });
      } catch (err) {
        return (err as Error).message;
      }
    })();
    expect(refused).toBe("the legacy secret: port is not a port number");
    expect(refused).not.toContain("p@ss");
  });
});
