#!/usr/bin/env node
// Runs the TypeScript CLI directly through tsx: no build step between a change and `npx leadpipe`.
import "../src/quiet-warnings.js";
import { register } from "tsx/esm/api";
register();
await import("../src/cli.ts");
