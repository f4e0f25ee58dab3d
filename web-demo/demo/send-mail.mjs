// Sends the demo's resident emails (scripts/demo-mail.jsonl) through the local Postfix, as the residents
// would, so that mailbot has real mail to ingest, classify and acknowledge.
//
//   node web-demo/demo/send-mail.mjs FILE            SMTP on 127.0.0.1:$MAILSERVER_SMTP_PORT (default 10025)
//
// Each line of FILE: {"from", "name", "to", "subject", "text"}. Prints one line per message sent and exits
// non-zero if any was refused.
import { readFile } from 'node:fs/promises';
import nodemailer from 'nodemailer';

const file = process.argv[2];
if (!file) {
  console.error('usage: send-mail.mjs FILE');
  process.exit(2);
}
const port = Number(process.env.MAILSERVER_SMTP_PORT ?? 10025);
const transport = nodemailer.createTransport({
  host: '127.0.0.1',
  port,
  secure: false,
  ignoreTLS: true,
  pool: true,
  maxConnections: 1,
});

const lines = (await readFile(file, 'utf8')).split('\n').filter((line) => line.trim() !== '');
let failed = 0;
for (const [index, line] of lines.entries()) {
  let mail;
  try {
    mail = JSON.parse(line);
  } catch (error) {
    console.error(`line ${index + 1}: not JSON (${error.message})`);
    failed += 1;
    continue;
  }
  try {
    await transport.sendMail({
      from: { name: mail.name, address: mail.from },
      to: mail.to,
      subject: mail.subject,
      text: mail.text,
    });
    console.log(`  sent: ${mail.from} -> ${mail.to}: ${mail.subject || '(no subject)'}`);
  } catch (error) {
    console.error(`line ${index + 1}: refused (${error.message})`);
    failed += 1;
  }
}
transport.close();
console.log(`${lines.length - failed} of ${lines.length} emails sent`);
process.exit(failed === 0 ? 0 : 1);
