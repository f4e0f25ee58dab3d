// Compiled with `tsc --noEmit` by the tests: the declarations describe what a form's code does with them.
import init, { addWorkingDays, assess, contacts, procedures, serviceAreas, workingDaysBetween } from '../pkg/feedback_wasm.js';
import type { AssessInput, AssessResult, Assessment, Deadline, Kind } from '../pkg/feedback_wasm.js';

export async function guidance(text: string): Promise<string> {
  await init();
  const input: AssessInput = { text, service_area: 'libraries', aware_since: '2026-01-02', on_behalf: false };
  const result: AssessResult = assess(input, '2026-11-25');
  switch (result.type) {
    case 'success': {
      const a: Assessment = result.assessment;
      const kind: Kind = a.kind;
      const ack: Deadline | undefined = a.deadlines.find((d) => d.milestone === 'acknowledge');
      const email: string | undefined = a.route.team.email;
      return `${kind} ${ack?.due ?? ''} ${email ?? ''} ${a.exclusions.join()} ${a.route.outside_body?.name ?? ''}`;
    }
    case 'failure':
      return result.errors.map((e) => `${e.message}: ${e.help}`).join('\n');
  }
}

export function helpers(): number {
  const date = addWorkingDays('2026-12-24', 3);
  const days = workingDaysBetween('2026-12-24', '2027-01-04');
  const c = contacts();
  const s = serviceAreas();
  const p = procedures();
  let n = 0;
  if (date.type === 'success') n += date.date.length;
  if (days.type === 'success') n += days.days;
  if (c.type === 'success') n += Object.keys(c.contacts.teams).length;
  if (s.type === 'success') n += s.service_areas.filter((a) => a.on_forms).length;
  if (p.type === 'success') n += p.procedures.corporate.stages.length;
  return n;
}

// @ts-expect-error: text is required
assess({ service_area: 'libraries' }, '2026-11-25');
// @ts-expect-error: on_behalf is a boolean
assess({ text: 'x', on_behalf: 'yes' }, '2026-11-25');
