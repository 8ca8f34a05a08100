/** The part of cli-progress 3.12 (MIT, CommonJS, no types of its own) that lib/bench/progress.ts uses. */
declare module "cli-progress" {
  export interface Options {
    format?: string;
    stream?: NodeJS.WritableStream;
    hideCursor?: boolean;
    clearOnComplete?: boolean;
    barsize?: number;
  }
  export class SingleBar {
    constructor(opts: Options, preset?: object);
    start(total: number, value: number, payload?: Record<string, unknown>): void;
    update(value: number, payload?: Record<string, unknown>): void;
    stop(): void;
  }
  export const Presets: { shades_classic: object; legacy: object; rect: object; shades_grey: object };
  const cliProgress: { SingleBar: typeof SingleBar; Presets: typeof Presets };
  export default cliProgress;
}
