// kestrel_tensors_live: the one series load tests and leak alarms read, whichever engine runs the models.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '../../src/runtime/backend.js';
import { addTensorSource, liveTensors, metricsRegistry } from '../../src/server/plugins/metrics.js';

async function scraped(): Promise<number> {
  const line = (await metricsRegistry.metrics()).split('\n').find((l) => l.startsWith('kestrel_tensors_live '));
  assert.ok(line, 'kestrel_tensors_live is exported');
  return Number(line.split(' ')[1]);
}

test('kestrel_tensors_live counts this thread’s tensors plus every added source (e.g. inference workers)', async () => {
  await initBackend('cpu');
  const base = tf.memory().numTensors;
  assert.equal(await scraped(), base);
  const held = tf.tensor([1, 2, 3]);
  assert.equal(await scraped(), base + 1);
  let inWorkers = 7;
  const remove = addTensorSource('workers', () => inWorkers);
  assert.equal(liveTensors(), base + 1 + 7);
  inWorkers = 9;
  assert.equal(await scraped(), base + 1 + 9);
  remove();
  held.dispose();
  assert.equal(await scraped(), base);
});
