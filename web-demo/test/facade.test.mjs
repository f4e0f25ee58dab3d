// The facade under Node's JS engine, without a browser: every failure is a result to switch on.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

import { addWorkingDays, assess, contacts, initSync, procedures, serviceAreas, workingDaysBetween } from '../pkg/feedback_wasm.js';

initSync({ module: readFileSync(new URL('../pkg/feedback_wasm_bg.wasm', import.meta.url)) });

const TODAY = '2026-11-25';

function assertFailure(answer, ...patterns) {
  assert.equal(answer.type, 'failure', JSON.stringify(answer).slice(0, 300));
  assert.ok(answer.errors.length >= 1);
  for (const error of answer.errors) {
    assert.deepEqual(Object.keys(error).sort(), ['help', 'message']);
    assert.ok(error.message.length > 0 && error.help.length > 0);
    assert.ok(!error.message.endsWith('.'), `no final period: ${error.message}`);
    assert.equal(error.message[0], error.message[0].toLowerCase(), `lowercase: ${error.message}`);
  }
  const text = answer.errors.map((e) => e.message).join('\n');
  for (const pattern of patterns) assert.match(text, pattern);
  return answer.errors;
}

describe('assess', () => {
  it('answers a good input with the whole assessment as plain data', () => {
    const answer = assess({ text: 'I reported the pothole in March and it is still not fixed. I am unhappy.', service_area: 'roads_and_pavements', aware_since: '2026-03-02', on_behalf: false, legal_action_started: false, received: '2026-11-25T10:00:00Z', channel: 'web_form', subject: 'Pothole' }, TODAY);
    assert.equal(answer.type, 'success');
    const a = answer.assessment;
    assert.equal(a.service_area, 'roads_and_pavements');
    assert.ok(Array.isArray(a.exclusions) && Array.isArray(a.cautions) && Array.isArray(a.deadlines) && Array.isArray(a.evidence));
    assert.equal(Object.getPrototypeOf(a), Object.prototype, 'a plain object, not a Map');
    assert.equal(JSON.stringify(JSON.parse(JSON.stringify(a))), JSON.stringify(a), 'JSON-safe');
    assert.ok(a.deadlines.every((d) => d.due === null || /^\d{4}-\d{2}-\d{2}$/.test(d.due)));
  });

  it('treats a form\'s empty answers as no answers', () => {
    assert.equal(assess({ text: 'hello there council', service_area: '', aware_since: '', received: '', subject: '' }, TODAY).type, 'success');
    assert.equal(assess({ text: 'hello', service_area: null, aware_since: null, on_behalf: null }, TODAY).type, 'success');
  });

  it('fails on a value that is not an object', () => {
    for (const input of [null, undefined, 42, 'text', true, Symbol('s'), () => 1]) {
      assertFailure(assess(input, TODAY), /not an object|wrong shape/);
    }
  });

  it('fails on the wrong shape, naming the field', () => {
    assertFailure(assess({}, TODAY), /missing field `text`/);
    assertFailure(assess([], TODAY), /wrong shape/);
    assertFailure(assess({ text: 5 }, TODAY), /invalid type/);
    assertFailure(assess({ text: 'x', txet: 'y' }, TODAY), /unknown field `txet`/);
    assertFailure(assess({ text: 'x', on_behalf: 'yes' }, TODAY), /invalid type/);
    assertFailure(assess({ text: 'x', channel: 'pigeon' }, TODAY), /unknown variant `pigeon`/);
    assertFailure(assess({ text: 1n }, TODAY), /wrong shape/);
  });

  it('describes a wrong value exactly as serde does', () => {
    const shape = (input) => assertFailure(assess(input, TODAY)).map((e) => e.message.replace('the input has the wrong shape: Error: ', ''));
    assert.deepEqual(shape({ text: 5 }), ['invalid type: floating point `5.0`, expected a string']);
    assert.deepEqual(shape({ text: 1e21 }), ['invalid type: floating point `1000000000000000000000.0`, expected a string']);
    assert.deepEqual(shape({ text: 1.5e-7 }), ['invalid type: floating point `0.00000015`, expected a string']);
    assert.deepEqual(shape({ text: -Infinity }), ['invalid type: floating point `-inf`, expected a string']);
    assert.deepEqual(shape({ text: null }), ['invalid type: unit value, expected a string']);
    assert.deepEqual(shape({ text: 'x', on_behalf: 'a\u0007"b' }), ['invalid type: string "a\\u{7}\\"b", expected a boolean']);
    assert.deepEqual(shape({ text: 'x', channel: 5 }), ['invalid type: floating point `5.0`, expected enum Channel']);
    assert.deepEqual(shape({ text: new Uint8Array(2) }), ['invalid type: byte array, expected a string']);
    assert.deepEqual(shape({ on_behalf: 3 }), ['invalid type: floating point `3.0`, expected a boolean']);
    assert.deepEqual(shape([]), ['missing field `text`']);
    assert.equal(assess({ text: 'x', channel: { web_form: null } }, TODAY).type, 'success');
  });

  it('fails on bad dates, and reports every problem at once', () => {
    const errors = assertFailure(
      assess({ text: 'x'.repeat(100_001), aware_since: '31/02/2026', received: 'yesterday', service_area: 'potholes' }, '2026-02-30'),
      /`text` is 100001 characters long/,
      /`aware_since` is `31\/02\/2026`, not a date/,
      /`received` is `yesterday`, not a time/,
      /`service_area` is `potholes`/,
      /`today` is `2026-02-30`, not a date/,
    );
    assert.equal(errors.length, 5);
  });

  it('keeps dates to years the calendar arithmetic is safe for', () => {
    assertFailure(assess({ text: 'x' }, '+275760-09-13'), /not a date/);
    assertFailure(assess({ text: 'x' }, '2201-01-01'), /outside the years 1900 to 2200/);
    assertFailure(assess({ text: 'x', aware_since: '0001-01-01' }, TODAY), /outside the years/);
    assertFailure(assess({ text: 'x', received: '9999-12-31T23:59:59Z' }, TODAY), /outside the years/);
    assertFailure(assess({ text: 'x' }), /`today` is missing/);
    assertFailure(assess({ text: 'x' }, 20261125), /`today` is missing or not a string/);
    assert.equal(assess({ text: 'x' }, '2200-12-31').type, 'success');
  });

  it('assesses long, emoji, right-to-left and broken text', () => {
    for (const text of ['a'.repeat(100_000), '🙂'.repeat(50_000), 'שלום \u202Eolleh\u202C مرحبا', 'a\uD800b\uDC00c', '\0\u0007']) {
      assert.equal(assess({ text }, TODAY).type, 'success');
    }
    assertFailure(assess({ text: '🙂'.repeat(100_001) }, TODAY), /over the limit of 100000/);
    assertFailure(assess({ text: 'x', subject: 's'.repeat(1_001) }, TODAY), /`subject` is over the limit/);
  });
});

describe('helpers', () => {
  it('adds working days over Christmas and New Year', () => {
    assert.deepEqual(addWorkingDays('2026-12-24', 1), { type: 'success', date: '2026-12-29' });
    assert.deepEqual(addWorkingDays('2026-12-29', 3), { type: 'success', date: '2027-01-04' });
    assert.deepEqual(workingDaysBetween('2026-12-24', '2027-01-04'), { type: 'success', days: 4 });
    assert.deepEqual(workingDaysBetween('2027-01-04', '2026-12-24'), { type: 'success', days: -4 });
  });

  it('fails on bad arguments', () => {
    assertFailure(addWorkingDays('soon', 3), /`start` is `soon`/);
    assertFailure(addWorkingDays('2026-11-25', -1), /whole number/);
    assertFailure(addWorkingDays('2026-11-25', 1.5), /whole number/);
    assertFailure(addWorkingDays('2026-11-25', NaN), /whole number/);
    assertFailure(addWorkingDays('2026-11-25', 1e12), /whole number/);
    assertFailure(addWorkingDays('2026-11-25', '3'), /whole number/);
    assert.equal(assertFailure(addWorkingDays()).length, 2);
    assert.equal(assertFailure(workingDaysBetween()).length, 2);
    assertFailure(workingDaysBetween('2026-11-25', {}), /`to` is missing/);
  });

  it('lists contacts, service areas and procedures from the policy', () => {
    const c = contacts();
    assert.equal(c.type, 'success');
    assert.equal(c.contacts.council, 'Kent County Council');
    assert.equal(c.contacts.teams.customer_feedback.email, 'county.hall@kent.gov.uk');
    assert.equal(c.contacts.outside_bodies.lgsco.name, 'Local Government and Social Care Ombudsman');
    const s = serviceAreas();
    assert.equal(s.type, 'success');
    assert.ok(s.service_areas.some((a) => a.id === 'adult_social_care' && a.procedure === 'adult_social_care' && a.on_forms));
    const p = procedures();
    assert.equal(p.type, 'success');
    assert.equal(p.procedures.corporate.stages[0].id, 'stage_1');
  });
});

describe('the package', () => {
  it('is an npm-style package whose files all exist', () => {
    const pkg = JSON.parse(readFileSync(new URL('../pkg/package.json', import.meta.url), 'utf8'));
    assert.equal(pkg.name, 'feedback-wasm');
    assert.equal(pkg.type, 'module');
    for (const file of [pkg.main, pkg.types, ...pkg.files]) {
      assert.ok(readFileSync(new URL(`../pkg/${file}`, import.meta.url)).length > 0, file);
    }
    const dts = readFileSync(new URL(`../pkg/${pkg.types}`, import.meta.url), 'utf8');
    for (const name of ['assess', 'addWorkingDays', 'workingDaysBetween', 'contacts', 'serviceAreas', 'procedures']) {
      assert.match(dts, new RegExp(`export function ${name}\\(`), name);
    }
    const exported = dts.split('\n').filter((line) => line.startsWith('export function') && !line.includes('initSync'));
    assert.equal(exported.length, 6);
    for (const line of exported) assert.doesNotMatch(line, /\bany\b/, `typed: ${line}`);
  });
});
