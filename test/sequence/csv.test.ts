import { test } from 'node:test';
import assert from 'node:assert/strict';
import { indexAtOrAfter, parseSeriesCsv, splitCsvLine } from '../../src/sequence/csv.js';
import { calendarFeatures, detectFrequency, shiftTime } from '../../src/sequence/calendar.js';

test('CSV reader takes quoted headers and values, and names bad cells', () => {
  assert.deepEqual(splitCsvLine('"a,b","c""d",3'), ['a,b', 'c"d', '3']);
  const d = parseSeriesCsv('"Date","Temp"\r\n"1981-01-01",20.7\r\n"1981-01-02",17.9\r\n', { column: 'Temp', timeColumn: 'Date' });
  assert.deepEqual(Array.from(d.values), [20.7, 17.9]);
  assert.deepEqual(d.times, ['1981-01-01', '1981-01-02']);
  assert.throws(() => parseSeriesCsv('a\n1\n?\n', { column: 'a' }), /line 3/);
  assert.throws(() => parseSeriesCsv('a\n1\n', { column: 'b' }), /not found/);
  assert.equal(indexAtOrAfter(['1959-11', '1959-12', '1960-01'], '1960-01-01'), 2);
});

test('calendar: frequency, date arithmetic and the year as a circle', () => {
  assert.equal(detectFrequency(['1981-01-01', '1981-01-02']), 'daily');
  assert.equal(detectFrequency(['1949-01', '1949-02']), 'monthly');
  assert.equal(detectFrequency(['x']), undefined);
  assert.equal(shiftTime('1988-12-31', 'daily', 1), '1989-01-01');
  assert.equal(shiftTime('1988-03-01', 'daily', -1), '1988-02-29');
  assert.equal(shiftTime('1960-12', 'monthly', 2), '1961-02');
  assert.equal(shiftTime('1960-01', 'monthly', -1), '1959-12');
  const [s0, c0] = calendarFeatures('1990-01-01', 'daily');
  assert.ok(Math.abs(s0) < 1e-12 && Math.abs(c0 - 1) < 1e-12);
  // 31 December sits next to 1 January on the circle.
  const [s1, c1] = calendarFeatures('1989-12-31', 'daily');
  assert.ok(Math.hypot(s1 - s0, c1 - c0) < 0.03); // 1.25 days apart at 2π/365.25 per day
  const [sj, cj] = calendarFeatures('1960-07', 'monthly');
  assert.ok(Math.abs(sj) < 1e-12 && Math.abs(cj + 1) < 1e-12);
});
