import { test } from 'node:test';
import assert from 'node:assert/strict';
import { numberOption } from '../../src/cli/options.js';

test('numberOption: default when absent, the number when valid, an error naming the option otherwise', () => {
  assert.equal(numberOption(undefined, 'batch', 16), 16);
  assert.equal(numberOption('8', 'batch', 16), 8);
  assert.equal(numberOption('0', 'limit', 5), 0);
  assert.equal(numberOption('0.5', 'lr', 1, { int: false, above: true }), 0.5);
  assert.throws(() => numberOption('1.5', 'batch', 16), /--batch must be an integer ≥ 0, got "1.5"/);
  assert.throws(() => numberOption('-1', 'limit', 0), /--limit must be an integer ≥ 0/);
  assert.throws(() => numberOption('0', 'lr', 1, { int: false, above: true }), /--lr must be a number > 0, got "0"/);
  assert.throws(() => numberOption('abc', 'size', 128, { min: 32 }), /--size must be an integer ≥ 32/);
  assert.throws(() => numberOption('Infinity', 'lr', 1, { int: false }), /--lr must be a number/);
});
