// Feedback Desk embed: live guidance from the council's feedback policy, inside an existing web form.
//
// Add one script and one attribute to the form:
//
//   <script type="module" src="/feedback/embed.js"></script>
//   <form ... data-feedback-guidance>             (guidance goes in a region created after the message box)
//   <form ... data-feedback-guidance="some-id">   (guidance goes in the element with that id)
//
// or call `attach(form, { region })` from your own module (region: an element or its id). The embed finds the message box and the form's
// own questions (service area, when the person became aware, on someone's behalf, legal action) by their
// labels, names and types; a field can be named explicitly with data-feedback-field="text" | "subject" |
// "service_area" | "aware_since" | "on_behalf" | "legal_action_started".
//
// Everything runs in the browser: after the module and its .wasm have loaded, nothing the person types is
// sent anywhere by this code. The form itself is untouched and still submits as it did (with or without
// JavaScript).
//
// Sending to Feedback Desk (optional): `data-feedback-desk="https://desk.example/api/cases"` on the form
// makes the Send button post the message as JSON to mailbot's web-form endpoint (the page's origin must
// be on its `form_origins` list) and show the case reference it answers with. Only then, and only when
// the person presses Send, does anything leave the page.

import init, { assess, serviceAreas } from './pkg/feedback_wasm.js';

const DEBOUNCE_MS = 250; // the guidance follows the typing this closely
const ANNOUNCE_MS = 900; // a screen reader hears the summary only once the typing has paused this long
const MIN_WORDS = 3;
const MAX_TEXT = 100_000; // the module's limit, in characters; a UTF-16 slice of this length is within it

const KIND = {
  complaint: { phrase: 'a complaint', feedback: true },
  comment: { phrase: 'a comment', feedback: true },
  compliment: { phrase: 'a compliment', feedback: true },
  fault_report: { phrase: 'a first report of a problem or a first request for a service, not a complaint', feedback: false },
  information_request: { phrase: 'a request for information, not a complaint', feedback: false },
  damages_claim: { phrase: 'a claim for payment for loss or damage, not a complaint', feedback: false },
  staff_grievance: { phrase: "a staff member's personnel matter, not a customer complaint", feedback: false },
};

const ready = init().then(
  () => true,
  () => false, // no WebAssembly (or the .wasm is missing): the form works exactly as before
);
let areaList = null;
let counter = 0;

/** Attaches guidance to a form. Returns a controller, or null when the form has no message box. */
export async function attach(form, options = {}) {
  if (!(await ready)) return null;
  if (form.feedbackGuidance) return form.feedbackGuidance;
  areaList ??= (() => {
    const answer = serviceAreas();
    return answer.type === 'success' ? answer.service_areas : [];
  })();
  const fields = findFields(form, areaList);
  if (!fields.text) return null;
  addStyle(form.ownerDocument);
  const region = guidanceRegion(form, fields.text, options.region ?? form.getAttribute('data-feedback-guidance'));
  mark('feedback-guidance:attached');
  const controller = new Guidance(form, fields, region, options);
  form.feedbackGuidance = controller;
  return controller;
}

class Guidance {
  constructor(form, fields, region, options) {
    this.form = form;
    this.fields = fields;
    this.region = region;
    this.now = options.now ?? (() => new Date());
    this.timer = null; // a pending refresh, or null when the guidance is up to date
    this.announceTimer = null; // a pending change to the live summary
    this.lastInput = null;
    this.lastResult = null;
    this.shown = '';
    const id = `feedback-guidance-${++counter}`;
    region.classList.add('feedback-guidance');
    region.innerHTML =
      `<h2 class="fg-heading" id="${id}-h">Guidance on your feedback</h2>` +
      `<p class="fg-status" id="${id}-s" role="status" aria-live="polite" aria-atomic="true"></p>` +
      `<div class="fg-details"><p class="fg-hint">Start writing your message and we will tell you what kind of feedback it looks like, who will deal with it and when you should hear back. Nothing you type leaves this page until you send the form.</p></div>`;
    if (!region.hasAttribute('aria-labelledby') && !region.hasAttribute('aria-label')) region.setAttribute('aria-labelledby', `${id}-h`);
    this.status = region.querySelector('.fg-status');
    this.details = region.querySelector('.fg-details');
    this.schedule = () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.refresh(), DEBOUNCE_MS);
    };
    form.addEventListener('input', this.schedule);
    form.addEventListener('change', this.schedule);
    if (fields.text.value.trim()) this.refresh();
  }

  /** Reads the form, assesses it and updates the guidance now. */
  refresh() {
    clearTimeout(this.timer);
    this.timer = null;
    const now = this.now();
    const today = ukDate(now);
    const input = readForm(this.fields, now);
    this.lastInput = input;
    if (words(input.text) < MIN_WORDS) {
      this.render('', '<p class="fg-hint">Keep writing: guidance appears after a few words.</p>');
      return null;
    }
    const result = assess(input, today);
    this.lastResult = result;
    if (result.type === 'success') {
      const { status, html } = describe(result.assessment, today);
      this.render(status, html);
      if (!this.first) {
        this.first = true;
        mark('feedback-guidance:first');
      }
    } else {
      // The details (result.errors) are for the page's developers, in the `feedback-guidance` event.
      this.render('We could not give guidance on this message.', '<p>We could not give guidance on this message. You can still send the form.</p>');
    }
    this.form.dispatchEvent(new CustomEvent('feedback-guidance', { detail: { input, result } }));
    return result;
  }

  /** Changes the page only where the guidance changed, so it does not flicker or re-announce. The live
   * summary waits for a pause in the typing, so that a screen reader is not interrupted at every word. */
  render(status, html) {
    clearTimeout(this.announceTimer);
    this.announceTimer = null;
    if (this.status.textContent !== status) {
      this.announceTimer = setTimeout(() => {
        this.announceTimer = null;
        this.status.textContent = status;
      }, this.shown ? ANNOUNCE_MS : 0);
    }
    if (this.shown !== html) {
      this.details.innerHTML = html;
      this.shown = html;
    }
  }

  detach() {
    clearTimeout(this.timer);
    clearTimeout(this.announceTimer);
    this.form.removeEventListener('input', this.schedule);
    this.form.removeEventListener('change', this.schedule);
    delete this.form.feedbackGuidance;
  }
}

// --- Reading a form it has never seen ---------------------------------------------------------------

function describedBy(el) {
  const parts = [];
  for (const label of el.labels ?? []) parts.push(label.textContent);
  parts.push(el.getAttribute('aria-label') ?? '');
  for (const id of (el.getAttribute('aria-labelledby') ?? '').split(/\s+/).filter(Boolean)) {
    parts.push(el.ownerDocument.getElementById(id)?.textContent ?? '');
  }
  const legend = el.closest('fieldset')?.querySelector('legend');
  if (legend) parts.push(legend.textContent);
  parts.push(el.name ?? '', el.id ?? '', el.getAttribute('placeholder') ?? '');
  return parts.join(' ').toLowerCase().replace(/[_-]+/g, ' ');
}

const normalise = (s) => s.toLowerCase().replace(/&/g, ' and ').replace(/[^a-z0-9]+/g, ' ').trim();

function findFields(form, areas) {
  const controls = [...form.elements].filter((el) => !el.disabled && el.type !== 'hidden');
  const named = (name) => controls.filter((el) => el.dataset.feedbackField === name);
  const matching = (re, filter) => controls.filter((el) => filter(el) && re.test(describedBy(el)));
  const textareas = controls.filter((el) => el.tagName === 'TEXTAREA');
  const fields = {};
  fields.text =
    named('text')[0] ??
    textareas.find((el) => /message|describe|detail|happened|complaint|feedback|comment|tell us/.test(describedBy(el))) ??
    textareas[0];
  fields.subject =
    named('subject')[0] ?? matching(/subject|title|summary/, (el) => el.tagName === 'INPUT' && el.type === 'text')[0];
  fields.area = named('service_area')[0] ?? areaField(controls, areas);
  fields.aware = named('aware_since')[0] ?? awareField(controls);
  // A consent box ("I agree to the terms and the privacy notice") is never one of these questions.
  const question = (el) => isChoice(el) && !/agree|consent|privacy|terms|declar/.test(describedBy(el));
  fields.onBehalf = named('on_behalf')[0] ?? matching(/behalf|someone else|another person|for a relative/, question)[0];
  fields.legal = named('legal_action_started')[0] ?? matching(/legal (action|proceedings)|court|proceedings|tribunal|solicitor|\bsu(ed|ing)\b/, question)[0];
  fields.areaMap = areaMap(fields.area, areas);
  return fields;
}

/** A checkbox, a radio (standing for its yes/no group) or a select. */
const isChoice = (el) => el.type === 'checkbox' || el.type === 'radio' || el.tagName === 'SELECT';

/** The policy's service area an option or radio stands for: by its value (`adult-social-care`,
 * `adult_social_care`) or by its words matching the policy's name for the area. */
function areaFor(value, text, areas) {
  const v = normalise(value);
  const t = normalise(text);
  for (const area of areas) {
    const id = normalise(area.id);
    const name = normalise(area.name);
    if (v === id || t === id || v === name || t === name) return area.id;
  }
  return null;
}

function optionsOf(field) {
  if (!field) return [];
  if (field.tagName === 'SELECT') return [...field.options].map((o) => ({ value: o.value, text: o.textContent, el: o }));
  if (field.type === 'radio') {
    return [...field.form.elements]
      .filter((el) => el.type === 'radio' && el.name === field.name)
      .map((el) => ({ value: el.value, text: [...(el.labels ?? [])].map((l) => l.textContent).join(' '), el }));
  }
  return [];
}

function areaField(controls, areas) {
  // The select or radio group whose choices best match the policy's service areas (at least three).
  let best = null;
  let bestCount = 2;
  const seen = new Set();
  for (const el of controls) {
    if (el.tagName !== 'SELECT' && el.type !== 'radio') continue;
    if (el.type === 'radio' && seen.has(el.name)) continue;
    if (el.type === 'radio') seen.add(el.name);
    const count = optionsOf(el).filter((o) => areaFor(o.value, o.text, areas)).length;
    if (count > bestCount) [best, bestCount] = [el, count];
  }
  return best;
}

function areaMap(field, areas) {
  const map = new Map();
  for (const o of optionsOf(field)) {
    const id = areaFor(o.value, o.text, areas);
    if (id) map.set(o.value, id);
  }
  return map;
}

function awareField(controls) {
  const when = /aware|when did|when was|first notice|happen|date of/;
  const date = controls.find((el) => el.type === 'date' && when.test(describedBy(el)));
  if (date) return date;
  // The GOV.UK pattern: day, month and year boxes in one fieldset.
  for (const fieldset of new Set(controls.map((el) => el.closest('fieldset')).filter(Boolean))) {
    if (!when.test((fieldset.querySelector('legend')?.textContent ?? '').toLowerCase())) continue;
    const inputs = [...fieldset.querySelectorAll('input')];
    const part = (re) => inputs.find((el) => re.test(`${el.name} ${el.id} ${[...(el.labels ?? [])].map((l) => l.textContent).join(' ')}`.toLowerCase()));
    const day = part(/day/);
    const month = part(/month/);
    const year = part(/year/);
    if (day && month && year) return { parts: { day, month, year } };
  }
  return null;
}

function readChoice(el) {
  if (!el) return null;
  if (el.type === 'checkbox') return el.checked ? true : null;
  const answer = el.type === 'radio' ? optionsOf(el).find((o) => o.el.checked) : { value: el.value, text: el.selectedOptions?.[0]?.textContent ?? '' };
  if (!answer) return null;
  const word = normalise(`${answer.value} ${answer.text}`);
  if (/^(yes|true|1|y)\b/.test(word)) return true;
  if (/^(no|false|0|n)\b/.test(word)) return false;
  return null;
}

function readDate(field) {
  if (!field) return null;
  if (field.parts) {
    const { day, month, year } = field.parts;
    const [d, m, y] = [day.value, month.value, year.value].map((v) => v.trim());
    if (!/^\d{1,2}$/.test(d) || !/^\d{1,2}$/.test(m) || !/^\d{4}$/.test(y)) return null;
    const iso = `${y}-${m.padStart(2, '0')}-${d.padStart(2, '0')}`;
    return validIso(iso) ? iso : null;
  }
  return validIso(field.value) ? field.value : null;
}

function validIso(iso) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso ?? '');
  if (!match) return false;
  const [y, m, d] = match.slice(1).map(Number);
  const date = new Date(Date.UTC(y, m - 1, d));
  return y >= 1900 && y <= 2200 && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

function readForm(fields, now) {
  const input = { text: fields.text.value.slice(0, MAX_TEXT), channel: 'web_form', received: now.toISOString() };
  if (fields.subject?.value.trim()) input.subject = fields.subject.value.slice(0, 1000);
  if (fields.area) {
    const value = fields.area.type === 'radio' ? optionsOf(fields.area).find((o) => o.el.checked)?.value : fields.area.value;
    const id = fields.areaMap.get(value ?? '');
    if (id) input.service_area = id;
  }
  const aware = readDate(fields.aware);
  if (aware) input.aware_since = aware;
  const onBehalf = readChoice(fields.onBehalf);
  if (onBehalf !== null) input.on_behalf = onBehalf;
  const legal = readChoice(fields.legal);
  if (legal !== null) input.legal_action_started = legal;
  return input;
}

/** A performance mark a page's own monitoring can read (once each per page). */
function mark(name) {
  if (performance.getEntriesByName(name).length === 0) performance.mark(name);
}

const words = (text) => (text.match(/[\p{L}\p{N}]+/gu) ?? []).length;

/** Today in the UK, where the council's working days are counted. */
const ukFormat = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London', year: 'numeric', month: '2-digit', day: '2-digit' });
function ukDate(now) {
  return ukFormat.format(now); // en-CA writes YYYY-MM-DD
}

/** The element named by `region` (an element, or an id), else a new one after the message box. */
function guidanceRegion(form, text, region) {
  if (region?.nodeType === 1) return region;
  const named = region ? form.ownerDocument.getElementById(region) : null;
  if (named) return named;
  const created = form.ownerDocument.createElement('section');
  // After the message box's own group (label, hint, box), so the guidance reads after what it is about.
  const group = text.parentElement && text.parentElement !== form ? text.parentElement : text;
  group.after(created);
  return created;
}

// --- Saying it in plain English ---------------------------------------------------------------------

function esc(value) {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const dateFormat = new Intl.DateTimeFormat('en-GB', { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });

/** `2026-11-30` as `Monday 30 November 2026`. */
export function longDate(iso) {
  const [y, m, d] = iso.split('-').map(Number);
  return dateFormat.format(new Date(Date.UTC(y, m - 1, d))).replace(',', '');
}

function contactHtml(contact) {
  const rows = [];
  if (contact.email) rows.push(`Email: <a href="mailto:${esc(contact.email)}">${esc(contact.email)}</a>`);
  if (contact.phone) rows.push(`Phone: <a href="tel:${esc(contact.phone.replace(/\s+/g, ''))}">${esc(contact.phone)}</a>`);
  if (contact.text_relay) rows.push(`Text Relay: ${esc(contact.text_relay)}`);
  if (contact.sms) rows.push(`Text message: ${esc(contact.sms)}`);
  if (contact.web) rows.push(`Online: ${esc(contact.web)}`);
  if (contact.address) rows.push(`Post: ${esc(contact.address)}`);
  const list = rows.length ? `<ul class="fg-contact">${rows.map((r) => `<li>${r}</li>`).join('')}</ul>` : '';
  const note = contact.note ? `<p>${esc(contact.note)}</p>` : '';
  return `<p class="fg-team"><strong>${esc(contact.name)}</strong></p>${list}${note}`;
}

function quoted(found) {
  // A cue such as `delay*` matches any ending: show the stem the person wrote.
  const phrases = [...new Set(found.map((f) => f.replace(/\*$/, '')))].slice(0, 4).map((f) => `“${esc(f)}”`);
  return phrases.join(', ');
}

function describe(a, today) {
  const kind = KIND[a.kind] ?? { phrase: esc(a.kind), feedback: false };
  const sure = !a.needs_review && a.confidence >= 0.5;
  const why = a.evidence.filter((e) => e.decision === 'kind' && e.found.length);
  const dated = a.deadlines.filter((d) => d.due && !d.repeats);
  const due = (milestones) => dated.find((d) => milestones.includes(d.milestone) && d.from === 'receipt');
  const ack = due(['acknowledge', 'contact']);
  const reply = due(['full_reply', 'response']);
  const notAccepted = a.advice.filter((x) => x.about.startsWith('kind:') || x.about.startsWith('exclusion:'));
  const cautions = a.advice.filter((x) => x.about.startsWith('caution:'));

  const status = [
    `This looks like ${kind.phrase}.`,
    notAccepted.length && kind.feedback ? 'The council may not be able to accept it as a complaint: see below.' : '',
    !kind.feedback ? `It goes to ${a.route.team.name}.` : '',
    ack ? `Acknowledgement by ${longDate(ack.due)}.` : '',
    reply ? `Full reply by ${longDate(reply.due)}.` : '',
  ].filter(Boolean).join(' ');

  const parts = [];
  parts.push(`<h3>What this looks like</h3>`);
  parts.push(`<p class="fg-kind fg-kind-${esc(a.kind)}"><strong>This looks like ${kind.phrase}.</strong>${sure ? '' : ' We are not certain: a member of staff will check when you send it.'}</p>`);
  if (why.length) {
    parts.push(`<p>Why: ${why.map((e) => `${esc(e.rule)} (you wrote ${quoted(e.found)})`).join('; ')}.</p>`);
  }
  if (cautions.some((c) => c.about === 'caution:safeguarding')) {
    const text = cautions.find((c) => c.about === 'caution:safeguarding').text;
    parts.push(`<div class="fg-box fg-urgent"><h3>Important: someone may be at risk</h3><p>${esc(text)}</p></div>`);
  }
  if (notAccepted.length) {
    parts.push(`<div class="fg-box fg-warning"><h3>${kind.feedback ? 'What the council may not accept as a complaint' : 'This is not handled as a complaint'}</h3>`);
    parts.push(notAccepted.map((x) => `<p>${esc(x.text)}</p>`).join(''));
    if (!kind.feedback) parts.push(`<p><strong>Where to go instead:</strong></p>${contactHtml(a.route.team)}`);
    parts.push(`</div>`);
  }
  if (kind.feedback) {
    parts.push(`<h3>Who will deal with it</h3>${contactHtml(a.route.team)}`);
    if (a.route.next_stage) parts.push(`<p>If you are still unhappy: ${esc(a.route.next_stage)}</p>`);
    if (a.route.outside_body) parts.push(`<p>At the end of the procedure you can go to the <strong>${esc(a.route.outside_body.name)}</strong>${a.route.outside_body.web ? ` (${esc(a.route.outside_body.web)})` : ''}${a.route.outside_body.phone ? `, phone ${esc(a.route.outside_body.phone)}` : ''}.</p>`);
  }
  if (dated.length) {
    parts.push(`<h3>When you will hear back</h3><dl class="fg-dates">`);
    for (const d of dated) {
      const extended = d.due_extended ? ` (at the latest ${esc(longDate(d.due_extended))})` : '';
      const verb = d.due < today ? (d.milestone === 'complaint_window' ? 'ended on' : 'was due') : d.milestone === 'complaint_window' ? 'until' : 'by';
      parts.push(`<div><dt>${esc(d.label)}</dt><dd>${verb} <time datetime="${esc(d.due)}">${esc(longDate(d.due))}</time>${extended}</dd></div>`);
    }
    parts.push(`</dl><p class="fg-small">Working days exclude weekends and bank holidays in England and Wales. A message sent after 5pm, or on a weekend or bank holiday, counts from the next working day.</p>`);
  }
  const otherCautions = cautions.filter((c) => c.about !== 'caution:safeguarding');
  if (otherCautions.length) {
    parts.push(`<h3>Please note</h3>${otherCautions.map((c) => `<p>${esc(c.text)}</p>`).join('')}`);
  }
  return { status, html: parts.join('') };
}

// --- A default look, which a council's own stylesheet can override (zero specificity) ---------------

const STYLE = `
:where(.feedback-guidance) { border-left: 6px solid #1d70b8; background: #f3f7fb; color: #0b0c0c; padding: 1rem 1.25rem; margin: 1rem 0 1.5rem; max-width: 44em; }
:where(.feedback-guidance) h2 { font-size: 1.25rem; margin: 0 0 .5rem; }
:where(.feedback-guidance) h3 { font-size: 1.05rem; margin: 1rem 0 .25rem; }
:where(.feedback-guidance) p { margin: .25rem 0 .5rem; }
:where(.feedback-guidance) .fg-status { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); clip-path: inset(50%); white-space: nowrap; }
:where(.feedback-guidance) .fg-box { border: 2px solid #0b0c0c; background: #fff; padding: .5rem .75rem; margin: .75rem 0; }
:where(.feedback-guidance) .fg-urgent { border-color: #942514; border-width: 4px; }
:where(.feedback-guidance) .fg-warning { border-color: #594d00; border-style: dashed; }
:where(.feedback-guidance) .fg-contact { margin: .25rem 0; padding-left: 1.25rem; }
:where(.feedback-guidance) .fg-dates div { display: flex; flex-wrap: wrap; gap: 0 .5rem; }
:where(.feedback-guidance) .fg-dates dt { font-weight: bold; }
:where(.feedback-guidance) .fg-dates dt::after { content: ":"; }
:where(.feedback-guidance) .fg-dates dd { margin: 0; }
:where(.feedback-guidance) .fg-small { font-size: .9rem; }
:where(.feedback-guidance) a { color: #1d4f91; }
`;

function addStyle(doc) {
  if (doc.getElementById('feedback-guidance-style')) return;
  const style = doc.createElement('style');
  style.id = 'feedback-guidance-style';
  style.textContent = STYLE;
  doc.head.prepend(style);
}

// --- Attach to every form that asks for it ----------------------------------------------------------

function attachAll() {
  for (const form of document.querySelectorAll('form[data-feedback-guidance]')) attach(form);
  for (const form of document.querySelectorAll('form[data-feedback-desk]')) sendToDesk(form);
}

// --- Sending the form to Feedback Desk --------------------------------------------------------------

/** Posts the form to the desk's JSON endpoint on Send, and shows the reference (or why it failed). */
export function sendToDesk(form, endpoint = form.getAttribute('data-feedback-desk')) {
  if (!endpoint || form.feedbackDesk) return;
  form.feedbackDesk = { endpoint };
  const answer = form.ownerDocument.createElement('div');
  answer.className = 'fd-answer';
  answer.setAttribute('role', 'status');
  answer.setAttribute('aria-live', 'polite');
  form.append(answer);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = deskBody(form);
    if (!body.text.trim()) {
      answer.textContent = 'Please write your message before sending it.';
      return;
    }
    const button = form.querySelector('[type=submit]');
    if (button) button.disabled = true;
    answer.textContent = 'Sending your feedback...';
    try {
      const response = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        credentials: 'omit',
      });
      const result = await response.json();
      if (result.type === 'success') {
        answer.textContent = `Thank you: your feedback was received. Your reference is ${result.reference}.`;
        answer.dataset.reference = result.reference;
        form.reset();
      } else {
        const [first] = result.errors ?? [];
        answer.textContent = `We could not send your feedback: ${first?.message ?? 'unknown error'}.`;
      }
    } catch {
      answer.textContent = 'We could not send your feedback just now. Please try again, or call us.';
    } finally {
      if (button) button.disabled = false;
    }
  });
}

/** The JSON the desk's endpoint takes, from the form's fields. */
function deskBody(form) {
  const fields = form.feedbackGuidance?.fields ?? findFields(form, areaList ?? []);
  const controls = [...form.elements];
  const value = (el) => el?.value?.trim() || undefined;
  // The same answers the guidance reads (service area, aware since, on behalf, legal action), so the
  // case is assessed on what the person saw assessed.
  const { channel, received, ...answers } = fields.text ? readForm(fields, new Date()) : { text: '' };
  return {
    ...answers,
    name: value(controls.find((el) => el.autocomplete === 'name' || /^(full_?)?name$/.test(el.name))),
    email: value(controls.find((el) => el.type === 'email')),
  };
}
if (typeof document !== 'undefined') {
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', attachAll, { once: true });
  else attachAll();
}
