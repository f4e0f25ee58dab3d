// Browser tests: the embed on the two demo forms, in headless Chromium.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';

import { TODAY, engine, openPage, settled, startAll, write } from './helpers.mjs';

const require = createRequire(import.meta.url);
const AXE = require.resolve('axe-core/axe.min.js');

let env;
before(async () => {
  env = await startAll();
});
after(async () => {
  await env?.close();
});

/** The policy's own examples (Kent Customer Feedback Policy, "What is a complaint, comment or compliment?"),
 * in the first person as a resident would type them. */
const POLICY_EXAMPLES = [
  ['complaint', 'The Council has failed to follow its own procedures and the member of staff dealing with me was rude and unhelpful.'],
  ['complaint', 'I requested several months ago that a pothole outside my house needed repairing. The agreed timescale for fixing the pothole has passed and the pothole still has not been repaired.'],
  ['complaint', 'I am unhappy with the delay in carrying out a social care assessment.'],
  ['complaint', 'I attend an Adult Education class. When I turned up for my class it had been cancelled and no one had let me know.'],
  ['comment', 'I am very happy that the Council has added book reservations to the online system for the Library Service.'],
  ['comment', "I am unhappy with the Council's decision to introduce parking charges at its country parks."],
  ['comment', 'The website has information that is out of date.'],
  ['compliment', 'I would like to thank the Customer Service Advisor for the prompt and efficient way in which they answered the telephone and dealt with my query. They were most helpful and friendly.'],
  ['compliment', 'I was very grateful when I needed to see someone about the difficulties I was having that the Council Officer was able to meet with me in the evening.'],
];

/** The kinds the policy does not take as complaints, and where it sends them instead. */
const NOT_COMPLAINTS = [
  ['fault_report', 'The street light outside 14 Station Road in Ashford is not working. Please can you fix it.', 'Report a problem (highways and services)'],
  ['information_request', 'Under the Freedom of Information Act please send me the number of potholes repaired in Kent in 2025.', 'freedomofinformation@kent.gov.uk'],
  ['damages_claim', 'My car tyre burst on a pothole on the A28 and I want the council to pay for the repair. I have attached the invoice.', 'Insurance team'],
  ['staff_grievance', 'I work for the council and I want to raise a grievance about my pay and working conditions with my manager.', 'Human Resources'],
];

const COMPLAINT = 'I am unhappy with how my case has been handled. Nobody returns my calls and the council has not done what it promised.';

describe('the Kent form', () => {
  it('names the kind of each of the policy examples, as the engine does', async () => {
    const { page, problems } = await openPage(env, '/');
    for (const [kind, text] of POLICY_EXAMPLES) {
      await page.fill('#message', '');
      await page.locator('#message').pressSequentially(text);
      const shown = await settled(page);
      assert.equal(shown.result.type, 'success', text);
      assert.equal(shown.result.assessment.kind, kind, `the engine's kind for: ${text}`);
      const article = kind === 'complaint' ? 'a complaint' : kind === 'comment' ? 'a comment' : 'a compliment';
      assert.match(shown.status, new RegExp(`^This looks like ${article}\\.`), text);
      assert.ok(shown.text.includes(`This looks like ${article}.`), text);
      assert.ok(shown.text.includes(shown.result.assessment.route.team.name), `who handles it: ${text}`);
      const own = await engine(page, 'assess', shown.input, TODAY);
      assert.deepEqual(own, shown.result, `the page shows the engine's own answer for: ${text}`);
    }
    assert.deepEqual(problems, []);
  });

  it('shows a complaint with who handles it, their contact details and both dates with the weekday', async () => {
    const { page } = await openPage(env, '/');
    await page.selectOption('#service-area', 'adult_social_care');
    const shown = await write(page, '#message', 'My mother has waited four months for a care assessment. I am unhappy with the delay and nobody returns my calls.');
    assert.match(shown.text, /Customer Care and Complaints Team \(Adult Social Care\)/);
    assert.match(shown.text, /customercarecomplaintsadults@kent\.gov\.uk/);
    assert.match(shown.text, /03000 41 04 10/);
    // Received on Wednesday 25 November 2026 before 5pm: 3 and 20 working days on.
    assert.match(shown.status, /Acknowledgement by Monday 30 November 2026\./);
    assert.match(shown.status, /Full reply by Wednesday 23 December 2026\./);
    assert.ok(await page.locator('.feedback-guidance a[href="mailto:customercarecomplaintsadults@kent.gov.uk"]').isVisible());
  });

  it('follows the service area as it is switched', async () => {
    const { page } = await openPage(env, '/');
    await write(page, '#message', COMPLAINT);
    const teams = [];
    for (const [area, team] of [
      ['adult_social_care', 'Customer Care and Complaints Team (Adult Social Care)'],
      ['childrens_social_care', "Children's Complaints Team"],
      ['schools', 'The school or academy (its own complaints procedure)'],
      ['roads_and_pavements', 'Customer Feedback Team'],
    ]) {
      await page.selectOption('#service-area', area);
      const shown = await settled(page);
      assert.equal(shown.input.service_area, area);
      assert.equal(shown.result.assessment.route.team.name, team, area);
      assert.ok(shown.text.includes(team), `${area}: ${shown.text}`);
      teams.push(shown.result.assessment.route.team.name);
    }
    assert.equal(new Set(teams).size, 4);
    // A looked after child's care: the Children Act statutory procedure, stage 1 in 10 working days and
    // 20 at the latest.
    await page.selectOption('#service-area', 'childrens_social_care');
    const shown = await write(page, '#message', 'My son is a looked after child and his social worker has not visited him for months. I am unhappy with how his care plan has been handled.');
    assert.equal(shown.result.assessment.procedure, 'childrens_statutory');
    const stage1 = shown.result.assessment.deadlines.find((d) => d.stage === 'stage_1' && d.milestone === 'full_reply');
    assert.deepEqual([stage1.period, stage1.extended_period], [{ working_days: 10 }, { working_days: 20 }]);
    assert.match(shown.text, /at the latest/);
  });

  it('lists the service areas the policy offers on forms, and no others', async () => {
    const { page } = await openPage(env, '/');
    const options = await page.locator('#service-area option').evaluateAll((os) => os.map((o) => o.value).filter(Boolean));
    const answer = await engine(page, 'serviceAreas');
    const offered = answer.service_areas.filter((a) => a.on_forms).map((a) => a.id);
    assert.deepEqual([...options].sort(), [...offered].sort());
  });

  for (const [kind, text, where] of NOT_COMPLAINTS) {
    it(`sends ${kind.replace('_', ' ')} elsewhere and says where`, async () => {
      const { page } = await openPage(env, '/');
      const shown = await write(page, '#message', text);
      assert.equal(shown.result.assessment.kind, kind);
      assert.match(shown.status, /not a (customer )?complaint/);
      assert.match(shown.text, /This is not handled as a complaint/);
      assert.match(shown.text, /Where to go instead:/);
      assert.ok(shown.text.includes(where), `${where} in ${shown.text}`);
    });
  }

  it('shows why a complaint may not be accepted when legal proceedings have started', async () => {
    const { page } = await openPage(env, '/');
    await page.check('#legal');
    const shown = await write(page, '#message', COMPLAINT);
    assert.deepEqual(shown.result.assessment.exclusions, ['legal_proceedings_started']);
    assert.match(shown.text, /What the council may not accept as a complaint/);
    assert.match(shown.text, /Legal proceedings or court action have started/);
    assert.match(shown.status, /may not be able to accept it as a complaint/);
  });

  it('shows the 12-month limit, with the discretion, when the person became aware long ago', async () => {
    const { page } = await openPage(env, '/');
    await page.fill('#aware-since', '2024-06-01');
    const shown = await write(page, '#message', COMPLAINT);
    assert.equal(shown.input.aware_since, '2024-06-01');
    assert.ok(shown.result.assessment.exclusions.includes('over_twelve_months'));
    assert.match(shown.text, /More than 12 months have passed/);
    assert.match(shown.text, /mitigating circumstances/);
    assert.match(shown.text, /Complaint window[^\n]*\n?\s*ended on Sunday 1 June 2025/);
  });

  it('sends a complaint about a school to the school, and a refused place to the appeal panel', async () => {
    const { page } = await openPage(env, '/');
    await page.selectOption('#service-area', 'schools');
    let shown = await write(page, '#message', "My daughter's school has ignored my emails about bullying for weeks and I am unhappy with how the head teacher has handled it.");
    assert.equal(shown.result.assessment.procedure, 'school');
    assert.match(shown.text, /The school or academy \(its own complaints procedure\)/);
    assert.match(shown.text, /Speak to the class teacher or head of year first/);
    await page.selectOption('#service-area', 'school_admissions');
    shown = await write(page, '#message', 'My son was refused a school place and we want to appeal against the admissions decision.');
    assert.equal(shown.result.assessment.procedure, 'admissions_appeal');
    assert.ok(shown.result.assessment.exclusions.includes('alternative_route'));
    assert.match(shown.text, /There is an appeal panel or tribunal for this/);
    assert.match(shown.text, /School admissions appeals \(independent appeal panel\)/);
  });

  it('puts safeguarding first', async () => {
    const { page } = await openPage(env, '/');
    const shown = await write(page, '#message', 'I am worried my elderly neighbour is being abused by her carer and is not safe. I am unhappy that nobody has visited.');
    assert.ok(shown.result.assessment.cautions.includes('safeguarding'));
    assert.match(shown.text, /Important: someone may be at risk/);
    assert.match(shown.text, /call 999/);
  });

  it('gives the dates the engine gives, on the council calendar, with the weekday', async () => {
    // Thursday 24 December 2026 at 5.30pm: after the cut-off and before Christmas, Boxing Day (moved to
    // Monday 28th) and New Year's Day, so it counts from Tuesday 29 December.
    const { page } = await openPage(env, '/', { now: new Date('2026-12-24T17:30:00Z') });
    const shown = await write(page, '#message', COMPLAINT);
    assert.equal(shown.input.received, '2026-12-24T17:30:00.000Z');
    const own = await engine(page, 'assess', shown.input, '2026-12-24');
    assert.equal(own.type, 'success');
    const dated = own.assessment.deadlines.filter((d) => d.due && !d.repeats);
    assert.deepEqual(shown.dates.map((d) => d.datetime), dated.map((d) => d.due));
    const ack = dated.find((d) => d.milestone === 'acknowledge');
    const reply = dated.find((d) => d.milestone === 'full_reply');
    assert.equal(ack.starts, '2026-12-29');
    assert.deepEqual(await engine(page, 'addWorkingDays', '2026-12-29', 3), { type: 'success', date: ack.due });
    assert.deepEqual(await engine(page, 'addWorkingDays', '2026-12-29', 20), { type: 'success', date: reply.due });
    assert.equal(ack.due, '2027-01-04');
    assert.match(shown.status, /Acknowledgement by Monday 4 January 2027\./);
    for (const d of shown.dates) {
      const weekday = new Date(`${d.datetime}T12:00:00Z`).toLocaleDateString('en-GB', { weekday: 'long', timeZone: 'UTC' });
      assert.ok(d.text.startsWith(weekday), `${d.text} is a ${weekday}`);
    }
    assert.deepEqual(await engine(page, 'workingDaysBetween', ack.starts, ack.due), { type: 'success', days: 3 });
  });

  it('sends nothing over the network while the person types, and neither flickers nor runs at every key', async () => {
    const { page, requests, problems } = await openPage(env, '/');
    await write(page, '#message', 'I am unhappy.');
    const before = requests.length;
    const resourcesBefore = await page.evaluate(() => performance.getEntriesByType('resource').length);
    await page.evaluate(() => {
      window.watch = { assessments: 0, emptied: 0 };
      const form = document.querySelector('form');
      form.addEventListener('feedback-guidance', () => window.watch.assessments++);
      const details = form.feedbackGuidance.details;
      new MutationObserver(() => {
        if (!details.textContent.trim()) window.watch.emptied++;
      }).observe(details, { childList: true, subtree: true, characterData: true });
    });
    await page.locator('#message').pressSequentially(' I reported the pothole outside my house in March and it is still not fixed, nobody has called me back.', { delay: 5 });
    await page.selectOption('#service-area', 'roads_and_pavements');
    await page.fill('#aware-since', '2026-03-02');
    await page.check('#behalf-yes');
    await page.check('#legal');
    const shown = await settled(page);
    assert.equal(shown.result.type, 'success');
    const watch = await page.evaluate(() => window.watch);
    assert.equal(watch.emptied, 0, 'the guidance is never blanked while it updates');
    assert.ok(watch.assessments >= 1 && watch.assessments <= 8, `debounced: ${watch.assessments} assessments for over 100 keys and 4 answers`);
    assert.deepEqual(requests.slice(before), []);
    assert.equal(await page.evaluate(() => performance.getEntriesByType('resource').length), resourcesBefore);
    assert.deepEqual(problems, []);
  });

  it('works from the keyboard alone, and the guidance links can be reached', async () => {
    const { page } = await openPage(env, '/');
    let reached = false;
    for (let i = 0; i < 40 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement?.id === 'message');
    }
    assert.ok(reached, 'the message box is reachable with Tab');
    await page.keyboard.type(COMPLAINT);
    await settled(page);
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => ({ inGuidance: !!document.activeElement.closest('.feedback-guidance'), href: document.activeElement.getAttribute('href') }));
    assert.ok(focused.inGuidance, 'Tab moves into the guidance');
    assert.match(focused.href, /^(mailto|tel):/);
  });

  it('announces the guidance through a polite live region', async () => {
    const { page } = await openPage(env, '/');
    const live = page.locator('#guidance [aria-live="polite"]');
    assert.equal(await live.count(), 1);
    assert.equal(await live.getAttribute('role'), 'status');
    await write(page, '#message', COMPLAINT);
    assert.match(await live.textContent(), /^This looks like a complaint\./);
  });
});

describe('bad input', () => {
  it('never logs an error, and the module keeps answering', async () => {
    const { page, problems } = await openPage(env, '/');
    const texts = [
      'I am unhappy with the service and nobody has called me back. '.repeat(2_000).slice(0, 100_000),
      'x'.repeat(100_000),
      'y '.repeat(60_000),
      '😡😡😡 the bin lorry 🚛 smashed my wall 🧱 and nobody came 🙄 I am unhappy with this',
      'أنا غير راضٍ عن الخدمة، لم يتصل بي أحد منذ شهرين بخصوص تقييم الرعاية لوالدتي',
      'אני לא מרוצה מהשירות \u202Egnirots\u202C ולא חזרו אליי',
      '',
      '   ',
    ];
    for (const text of texts) {
      const shown = await write(page, '#message', text);
      if (shown.result) assert.equal(shown.result.type, 'success', text.slice(0, 40));
    }
    // Unpaired surrogates cannot be typed, but can be pasted or set by script.
    await page.evaluate(() => {
      const box = document.querySelector('#message');
      box.value = 'I am unhappy \uD800 with the \uDC00 service and the delay \uDBFF';
      box.dispatchEvent(new Event('input', { bubbles: true }));
    });
    const shown = await settled(page);
    assert.equal(shown.result.type, 'success');

    // Wrong shapes straight into the module: a failure to switch on, never a throw or a trap.
    const answers = await page.evaluate(async () => {
      const m = await import('/pkg/feedback_wasm.js');
      const calls = [
        () => m.assess(null, '2026-11-25'),
        () => m.assess(undefined, '2026-11-25'),
        () => m.assess(42, '2026-11-25'),
        () => m.assess('a string', '2026-11-25'),
        () => m.assess([], '2026-11-25'),
        () => m.assess({}, '2026-11-25'),
        () => m.assess({ text: 5 }, '2026-11-25'),
        () => m.assess({ text: 'x', txet: 'y' }, '2026-11-25'),
        () => m.assess({ text: 'x', on_behalf: 'yes' }, '2026-11-25'),
        () => m.assess({ text: 'x', aware_since: '31/02/2026' }, '2026-11-25'),
        () => m.assess({ text: 'x', aware_since: '+275760-09-13' }, '2026-11-25'),
        () => m.assess({ text: 'x', received: 'yesterday' }, '2026-11-25'),
        () => m.assess({ text: 'x', service_area: 'potholes' }, '2026-11-25'),
        () => m.assess({ text: 'x' }, 20261125),
        () => m.assess({ text: 'x' }, '9999-99-99'),
        () => m.assess({ text: 'x' }),
        () => m.assess({ text: 'x'.repeat(100_001) }, '2026-11-25'),
        () => m.assess({ text: 1n }, '2026-11-25'),
        () => m.assess(Symbol('x'), '2026-11-25'),
        () => m.addWorkingDays('soon', 3),
        () => m.addWorkingDays('2026-11-25', -1),
        () => m.addWorkingDays('2026-11-25', 1e12),
        () => m.addWorkingDays('2026-11-25', '3'),
        () => m.workingDaysBetween(),
        () => m.workingDaysBetween('2026-11-25', null),
      ];
      const out = [];
      for (const call of calls) {
        try {
          out.push(call());
        } catch (error) {
          out.push({ threw: String(error) });
        }
      }
      out.push(m.assess({ text: 'Thank you so much to the library staff, they were wonderful' }, '2026-11-25'));
      return out;
    });
    const last = answers.pop();
    for (const [i, answer] of answers.entries()) {
      assert.equal(answer.type, 'failure', `call ${i}: ${JSON.stringify(answer).slice(0, 200)}`);
      assert.ok(answer.errors.length > 0);
      for (const e of answer.errors) {
        assert.equal(typeof e.message, 'string');
        assert.equal(typeof e.help, 'string');
        assert.ok(e.message && e.help);
      }
    }
    assert.equal(last.type, 'success', 'still answering after every failure');
    assert.deepEqual(problems, []);
  });

  it('shows a failure as a message on the page, not an error', async () => {
    const { page, problems } = await openPage(env, '/');
    // A date the browser's date box accepts but the policy's calendar does not cover.
    await page.evaluate(() => {
      const g = document.querySelector('form').feedbackGuidance;
      g.now = () => new Date('2999-01-01T10:00:00Z');
    });
    const shown = await write(page, '#message', COMPLAINT);
    assert.equal(shown.result.type, 'failure');
    assert.match(shown.text, /We could not give guidance on this message\. You can still send the form\./);
    assert.deepEqual(problems, []);
  });
});

describe('a form the embed has never seen', () => {
  it('reads radios, day-month-year boxes, yes/no radios and a select', async () => {
    const { page, problems } = await openPage(env, '/other-form.html');
    await page.check('input[name=topic][value=adult-social-care]');
    await page.fill('#when-day', '3');
    await page.fill('#when-month', '2');
    await page.fill('#when-year', '2024');
    await page.check('input[name=for-other][value=Y]');
    await page.selectOption('#court', 'yes');
    await page.fill('#ref', 'Care assessment delay');
    const shown = await write(page, '#details', 'My father has waited months for his care assessment and I am unhappy with the delay. Nobody calls back.');
    assert.deepEqual(
      { ...shown.input, received: undefined, text: undefined },
      { text: undefined, received: undefined, channel: 'web_form', subject: 'Care assessment delay', service_area: 'adult_social_care', aware_since: '2024-02-03', on_behalf: true, legal_action_started: true },
    );
    const a = shown.result.assessment;
    assert.equal(a.procedure, 'adult_social_care');
    assert.ok(a.exclusions.includes('legal_proceedings_started'));
    assert.ok(a.exclusions.includes('over_twelve_months'));
    assert.ok(a.cautions.includes('on_behalf_of_someone'));
    assert.match(shown.text, /Legal proceedings or court action have started/);
    assert.match(shown.text, /More than 12 months have passed/);
    assert.match(shown.text, /we may need their consent/);
    // The region it made for itself comes straight after the message box's group, and is live.
    const placed = await page.evaluate(() => {
      const region = document.querySelector('.feedback-guidance');
      return { afterMessage: region.previousElementSibling?.contains(document.querySelector('#details')), live: region.querySelector('[aria-live]')?.getAttribute('aria-live') };
    });
    assert.deepEqual(placed, { afterMessage: true, live: 'polite' });
    assert.deepEqual(problems, []);
  });

  it('leaves out a choice the policy does not know, and an unfinished date', async () => {
    const { page } = await openPage(env, '/other-form.html');
    await page.check('input[name=topic][value=parking]');
    await page.fill('#when-day', '31');
    await page.fill('#when-month', '2');
    await page.fill('#when-year', '2026');
    const shown = await write(page, '#details', 'The parking warden was rude to me and I am unhappy about how I was treated.');
    assert.equal(shown.input.service_area, undefined);
    assert.equal(shown.input.aware_since, undefined);
    assert.equal(shown.result.type, 'success');
  });

  it('gives the same guidance as the Kent form for the same answers', async () => {
    const text = 'The street light outside my house has been broken for months, I reported it twice and it is still not fixed. I am unhappy.';
    const kent = await openPage(env, '/');
    await kent.page.selectOption('#service-area', 'street_lighting');
    const a = await write(kent.page, '#message', text);
    const other = await openPage(env, '/other-form.html');
    await other.page.check('input[name=topic][value=street-lighting]');
    const b = await write(other.page, '#details', text);
    assert.deepEqual(b.result, a.result);
  });
});

describe('attach() from a page\'s own script', () => {
  it('uses the fields and the region it is given', async () => {
    const { page, problems } = await openPage(env, '/other-form.html');
    const shown = await page.evaluate(async () => {
      document.body.insertAdjacentHTML('beforeend', `
        <form id="bare"><label for="q1">Question 1</label><textarea id="q1" data-feedback-field="text"></textarea>
        <label for="q2">Question 2</label><select id="q2" data-feedback-field="service_area"><option value="libraries">L</option></select>
        <label for="q3">Question 3</label><input id="q3" type="text" data-feedback-field="aware_since">
        <div id="out"></div></form>`);
      const { attach } = await import('/embed.js');
      const form = document.getElementById('bare');
      const controller = await attach(form, { region: 'out', now: () => new Date('2026-11-25T10:00:00Z') });
      form.q1.value = 'Thank you to the staff at Faversham library, they were wonderful and so helpful.';
      form.q3.value = '2026-11-01';
      controller.refresh();
      return { input: controller.lastInput, inRegion: document.getElementById('out').textContent, again: (await attach(form)) === controller };
    });
    assert.equal(shown.input.service_area, 'libraries');
    assert.equal(shown.input.aware_since, '2026-11-01');
    assert.match(shown.inRegion, /This looks like a compliment\./);
    assert.ok(shown.again, 'attaching twice gives the same controller');
    assert.deepEqual(problems, []);
  });
});

describe('without JavaScript', () => {
  for (const [path, message] of [['/', '#message'], ['/other-form.html', '#details']]) {
    it(`${path} still submits`, async () => {
      const { page, requests } = await openPage(env, path, { javaScriptEnabled: false });
      await page.fill(message, COMPLAINT);
      await Promise.all([page.waitForURL('**/submit'), page.click('button[type=submit]')]);
      assert.match(await page.locator('h1').textContent(), /your feedback was received/);
      const fields = await page.locator('#received-fields li').allTextContents();
      assert.ok(fields.includes(message.slice(1)), fields.join(','));
      assert.ok(!requests.some((u) => u.endsWith('.wasm')), 'no module without JavaScript');
    });
  }
});

describe('accessibility (axe-core, WCAG 2.2 A and AA)', () => {
  const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa'];
  async function violations(page) {
    await page.addScriptTag({ path: AXE });
    return page.evaluate(async (tags) => {
      const result = await window.axe.run(document, { runOnly: { type: 'tag', values: tags } });
      return result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
    }, TAGS);
  }
  for (const path of ['/', '/other-form.html']) {
    it(`${path} has no violations, empty and with every kind of guidance showing`, async () => {
      const { page } = await openPage(env, path);
      assert.deepEqual(await violations(page), []);
      const box = path === '/' ? '#message' : '#details';
      if (path === '/') await page.check('#legal');
      await write(page, box, 'I am worried my neighbour is not safe. I want the council to pay for the damage to my car from the pothole. I am unhappy.');
      assert.deepEqual(await violations(page), []);
      await write(page, box, COMPLAINT);
      assert.deepEqual(await violations(page), []);
    });
  }
});

