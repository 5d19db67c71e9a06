import { test } from 'node:test';
import assert from 'node:assert/strict';
import { numberOption, requiredFlags } from '../../src/cli/options.js';

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

test('requiredFlags: usage on --help (0), the missing flags then the usage (2), else the values', () => {
  const out: string[] = [];
  const err: string[] = [];
  const [log, error] = [console.log, console.error];
  console.log = (s: string) => void out.push(s);
  console.error = (s: string) => void err.push(s);
  try {
    assert.equal(requiredFlags({ help: true }, 'USAGE', ['data', 'out']), 0);
    assert.deepEqual(out, ['USAGE']);
    assert.equal(requiredFlags({ data: 'd' }, 'USAGE', ['data', 'out']), 2);
    assert.match(err[0], /^--data and --out are required\n\nUSAGE$/);
    assert.deepEqual(requiredFlags({ data: 'd', out: 'o' }, 'USAGE', ['data', 'out']), { data: 'd', out: 'o' });
  } finally {
    console.log = log;
    console.error = error;
  }
});
