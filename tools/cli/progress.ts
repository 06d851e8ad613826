// Progress of a long command step (calibration, the report, building a model, bench rounds), on
// stderr so stdout stays the command's result: a live bar on a terminal; otherwise (a pipe, a CI
// log) one line `<step>: <percent>% (<done>/<total>)` at most every `everyMs` and at the end.
import cliProgress from 'cli-progress';

export interface Progress {
  /** `done` of `total` units of `step` finished (a new step name starts a new bar or line series). */
  update(step: string, done: number, total: number): void;
  /** Ends the display (the bar's line is closed; nothing is printed off a terminal). */
  stop(): void;
}

export interface ProgressOptions {
  /** Where to write (default process.stderr); a stream whose isTTY is true gets the live bar. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Least milliseconds between two lines off a terminal (default 3000). */
  everyMs?: number;
  /** Clock in milliseconds (tests). */
  now?: () => number;
}

export function progress(o: ProgressOptions = {}): Progress {
  const stream = o.stream ?? process.stderr;
  if (stream.isTTY) return barProgress(stream);
  const every = o.everyMs ?? 3000, now = o.now ?? (() => performance.now());
  let last = -Infinity, lastStep = '';
  return {
    update(step, done, total) {
      const t = now();
      if (step === lastStep && done < total && t - last < every) return;
      last = t;
      lastStep = step;
      const pct = total > 0 ? Math.floor((100 * done) / total) : 100;
      stream.write(`${step}: ${pct}% (${done}/${total})\n`);
    },
    stop() {},
  };
}

function barProgress(stream: NodeJS.WritableStream): Progress {
  let bar: cliProgress.SingleBar | undefined, barStep = '';
  return {
    update(step, done, total) {
      if (step !== barStep) {
        bar?.stop();
        barStep = step;
        bar = new cliProgress.SingleBar({ format: `${step} [{bar}] {value}/{total} | ETA {eta_formatted}`, hideCursor: true, stream }, cliProgress.Presets.shades_classic);
        bar.start(total, done);
      } else {
        bar!.update(done);
      }
    },
    stop() {
      bar?.stop();
      bar = undefined;
      barStep = '';
    },
  };
}
