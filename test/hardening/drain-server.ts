// Child process for drain.test.ts: the real start() (config from the environment, close-with-grace
// signal handling, the whole app) serving a fake detector whose forward passes wait for a line on stdin and
// then take DRAIN_PREDICT_MS each, so a test can hold a known number of detect requests in flight, send
// SIGTERM, and only then let them run, with no race against the clock. (Not a signal: close-with-grace
// treats any second signal, SIGUSR2 included, as "exit now".)
import { start } from '../../src/server/server.js';
import { FakeDetector, FakeRegistry } from '../server/fake-detector.js';
import type { Candidates } from '../../src/vision/candidates.js';

const delayMs = Number(process.env.DRAIN_PREDICT_MS ?? '100');

const gate = new Promise<void>((open) =>
  process.stdin.once('data', () => {
    process.stdin.pause();
    open();
  }),
);

class SlowDetector extends FakeDetector {
  override async predict(pixels: Uint8Array, batch: number, head: string): Promise<Candidates[]> {
    await gate;
    await new Promise((r) => setTimeout(r, delayMs));
    return super.predict(pixels, batch, head);
  }
}

const app = await start({ registry: new FakeRegistry([new SlowDetector()]) });
const address = app.server.address();
console.log(`LISTENING ${typeof address === 'object' && address ? address.port : '?'}`);
