/**
 * Progress of `goma bench` on stderr: a cli-progress bar when stderr is a terminal and NO_COLOR is unset
 * (cli-progress draws only on a terminal but ignores NO_COLOR), else one line per
 * finished step (`goma bench: [3/21] zlib goma cold 4.12 s`), so logs and CI show the same steps.
 */
import type { SingleBar } from "cli-progress";
import { colourWanted } from "../util/cli-args.ts";

/** Counts steps and shows them. */
export interface Progress {
  /** Names the step now running. */
  begin(step: string): void;
  /** Ends the running step with a short result ("4.12 s"). */
  done(result: string): void;
  /** Prints a line above the bar. */
  note(line: string): void;
  stop(): void;
}

/**
 * A progress display for `total` steps.
 * @param tty whether to draw a bar (default: stderr is a terminal and NO_COLOR is unset).
 */
export async function createProgress(total: number, tty = colourWanted(process.stderr.isTTY, process.env)): Promise<Progress> {
  let n = 0;
  let current = "";
  if (!tty) {
    return {
      begin: (s) => (current = s),
      done: (r) => process.stderr.write(`goma bench: [${++n}/${total}] ${current} ${r}\n`),
      note: (l) => process.stderr.write(`goma bench: ${l}\n`),
      stop: () => {},
    };
  }
  const { default: cliProgress } = await import("cli-progress");
  const bar: SingleBar = new cliProgress.SingleBar(
    { format: "goma bench {bar} {value}/{total} {step}", stream: process.stderr, hideCursor: true, clearOnComplete: true, barsize: 30 },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { step: "" });
  return {
    begin: (s) => {
      current = s;
      bar.update(n, { step: s });
    },
    done: (r) => bar.update(++n, { step: `${current} ${r}` }),
    note: (l) => {
      // cli-progress redraws on the next update: clear the line, print, redraw.
      process.stderr.write(`\r\x1b[K${l}\n`);
      bar.update(n, { step: current });
    },
    stop: () => bar.stop(),
  };
}
