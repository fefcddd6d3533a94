import { describe, expect, it } from "vitest";
import { formatProgress } from "../../packages/local/src/report";

describe("progress line", () => {
  it("shows files, chunks and rows done and the rate since the start", () => {
    expect(
      formatProgress({
        files: 3,
        filesDone: 1,
        chunksDone: 25,
        chunksTotal: 60,
        rowsDone: 1_250_000,
        rowsTotal: 3_000_000,
        seconds: 50,
      }),
    ).toBe("1/3 file(s) · chunks 25/60 · rows 1,250,000/3,000,000 · 25,000 rows/s · 50 s");
    expect(
      formatProgress({ files: 1, filesDone: 0, chunksDone: 0, chunksTotal: 0, rowsDone: 0, rowsTotal: 0, seconds: 0 }),
    ).toBe("0/1 file(s) · chunks 0/0 · rows 0/0 · 0 rows/s · 0 s");
  });
});
