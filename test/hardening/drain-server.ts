// Child process for drain.test.ts: the real start() (config from the environment, close-with-grace
// signal handling, the whole app) serving a fake detector whose forward pass takes DRAIN_PREDICT_MS,
// so a test can hold a known number of detect requests in flight when SIGTERM arrives.
import { start } from '../../src/server/server.js';
import { FakeDetector, FakeRegistry } from '../server/fake-detector.js';
import type { Candidates } from '../../src/runtime/models.js';

const delayMs = Number(process.env.DRAIN_PREDICT_MS ?? '100');

class SlowDetector extends FakeDetector {
  override async predict(pixels: Uint8Array, batch: number, head: string): Promise<Candidates[]> {
    await new Promise((r) => setTimeout(r, delayMs));
    return super.predict(pixels, batch, head);
  }
}

const app = await start({ registry: new FakeRegistry([new SlowDetector()]) });
const address = app.server.address();
console.log(`LISTENING ${typeof address === 'object' && address ? address.port : '?'}`);
