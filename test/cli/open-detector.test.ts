import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDetector } from '../../src/cli/open-detector.js';

test('openDetector: a name under models/ or a path opens a detector; a missing folder or another kind is an error naming it', async () => {
  const byName = await openDetector('kestrel-fmnist');
  assert.ok(!('error' in byName) && byName.model.kind === 'detector' && byName.dir.endsWith('kestrel-fmnist'));
  const byPath = await openDetector('models/kestrel-fmnist', '/nonexistent');
  assert.ok(!('error' in byPath) && byPath.dir === 'models/kestrel-fmnist');
  assert.deepEqual(await openDetector('nope'), { error: 'no model at models/nope (manifest.json missing)' });
  const other = await openDetector('shakespeare');
  assert.ok('error' in other && /shakespeare is a char-rnn model, not a detector/.test(other.error));
});
