// `--tune` is checked before any data is read: strides other than 8, 16 and 32 are refused, and so is the
// flag without --backbone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run as trainDetector } from '../../src/cli/train-detector.js';

test('train detector --tune: only the backbone\'s strides, and only with --backbone', async () => {
  await assert.rejects(trainDetector(['--data', 'nowhere', '--out', 'nowhere-out', '--backbone', 'coco', '--tune', '8,7']), /--tune takes strides among 8, 16 and 32 .*got "8,7"/);
  await assert.rejects(trainDetector(['--data', 'nowhere', '--out', 'nowhere-out', '--backbone', 'coco', '--tune', 'eight']), /--tune must be an integer/);
  await assert.rejects(trainDetector(['--data', 'nowhere', '--out', 'nowhere-out', '--tune', '8']), /--tap, --tune, .* go with --backbone/);
});
