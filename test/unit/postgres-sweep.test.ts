import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { sweepOrphanedClusters } from "../../packages/local/src/postgres";

describe("relocated PostgreSQL clusters", () => {
  let tmp = "";
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  /** A cluster stamped with the data folder it stands for, optionally with a postmaster.pid. */
  function cluster(root: string, key: string, dataDir: string, pid?: number): void {
    mkdirSync(path.join(root, key), { recursive: true });
    writeFileSync(path.join(root, key, "PG_VERSION"), "17\n");
    if (pid !== undefined) writeFileSync(path.join(root, key, "postmaster.pid"), `${pid}\n/data\n`);
    writeFileSync(path.join(root, `${key}.home`), `${dataDir}\n`);
  }

  it("removes the clusters of deleted homes and keeps live, present and unstamped ones", () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), "leadpipe-sweep-"));
    const root = path.join(tmp, "clusters");
    const home = path.join(tmp, "home");
    mkdirSync(home);
    cluster(root, "present", path.join(home, "pg"));
    cluster(root, "deleted", path.join(tmp, "gone", "pg"));
    cluster(root, "running", path.join(tmp, "gone-too", "pg"), process.pid);
    mkdirSync(path.join(root, "unstamped"));

    expect(sweepOrphanedClusters(root)).toEqual([path.join(root, "deleted")]);
    expect(readdirSync(root).sort()).toEqual(["present", "present.home", "running", "running.home", "unstamped"]);
    expect(sweepOrphanedClusters(root)).toEqual([]);
  });

  it("removes a stamp whose cluster is already gone", () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), "leadpipe-sweep-"));
    const root = path.join(tmp, "clusters");
    mkdirSync(root);
    writeFileSync(path.join(root, "k.home"), `${path.join(tmp, "gone", "pg")}\n`);
    expect(sweepOrphanedClusters(root)).toEqual([path.join(root, "k")]);
    expect(readdirSync(root)).toEqual([]);
  });

  it("does nothing when no cluster was ever relocated", () => {
    expect(sweepOrphanedClusters(path.join(os.tmpdir(), "leadpipe-no-such-folder"))).toEqual([]);
  });
});
