// Starts the embedded PostgreSQL on argv[2] and holds it until killed (a leadpipe that crashes mid-run).
import { startPostgres } from "../../packages/local/src/postgres";

const pg = await startPostgres(process.argv[2]!);
const pid = Number((await import("node:fs")).readFileSync(`${pg.dataDir}/postmaster.pid`, "utf8").split("\n")[0]);
process.stdout.write(JSON.stringify({ url: pg.url, postmaster: pid }) + "\n");
setInterval(() => undefined, 60_000);
