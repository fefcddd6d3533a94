#!/usr/bin/env -S node --single-threaded-gc
// --single-threaded-gc: the Map's worker threads already keep the cores busy; V8's parallel and
// concurrent GC helper threads only competed with them (~1.4 CPU-s less per 1M rows ingested).
// Runs the TypeScript CLI directly through tsx: no build step between a change and `npx leadpipe`.
import "../src/quiet-warnings.js";
import { register } from "tsx/esm/api";
register();
await import("../src/cli.ts");
