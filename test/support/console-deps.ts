import path from "node:path";
import { createLogger, type Pool } from "@leadpipe/core";
import type { ConsoleDeps } from "../../packages/console/src/ports";

/**
 * The console's ports for a test that drives the console over HTTP against a real database: the
 * pools and the read-only URL it is given, uploads under `tmp`, no alerts, and every port the test
 * does not drive (object store, upload, replay) throwing `why` when called. `extra` adds or replaces
 * ports (a hand-off, an identity provider, a puller starter).
 */
export function testConsoleDeps(
  o: { pool: Pool; writer?: Pool; readonlyUrl: string; tmp: string; why?: string },
  extra: Partial<ConsoleDeps> = {},
): ConsoleDeps {
  const unavailable = () => {
    throw new Error(o.why ?? "not part of this test");
  };
  return {
    pool: o.pool,
    writer: o.writer ?? o.pool,
    readonlyUrl: o.readonlyUrl,
    log: createLogger({ service: "console-test" }),
    store: { head: unavailable, read: unavailable, write: unavailable },
    settings: { bucket: "test" },
    uploadDir: path.join(o.tmp, "uploads"),
    upload: unavailable,
    replay: unavailable,
    alerts: async () => [],
    ...extra,
  };
}
