// A small SMTP server for the browser tests: kura's mailer delivers to it over loopback (no
// STARTTLS offered, so kura's "try" sends in the clear), and a test waits for the mail of an
// address. Bodies are base64 (kura always sends them so) and decoded; the subject's RFC 2047
// encoded-words too.
import { createServer } from 'node:net';

const words = (s) => s.replace(/=\?UTF-8\?B\?([^?]*)\?=\s*/gi, (m, b) => Buffer.from(b, 'base64').toString('utf8'));

function parse(raw) {
  const at = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, at).replace(/\r\n[ \t]+/g, ' ');
  const headers = {};
  for (const line of head.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  let body = raw.slice(at + 4);    // raw is latin1: one character a byte
  body = /base64/i.test(headers['content-transfer-encoding'] || '')
    ? Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8') : Buffer.from(body, 'latin1').toString('utf8');
  return { headers, subject: words(headers.subject || ''), body };
}

// { port, mails: [{ from, to: [...], subject, body, headers }], waitFor(addr), close() }
export async function smtpSink() {
  const mails = [];
  const waiters = [];
  const server = createServer((sock) => {
    let buf = '', data = null, env = { from: '', to: [] };
    const say = (s) => sock.write(s + '\r\n');
    say('220 sink ESMTP');
    sock.on('data', (chunk) => {
      buf += chunk.toString('latin1');
      for (;;) {
        if (data !== null) {
          const end = buf.indexOf('\r\n.\r\n');
          if (end < 0) return;
          data += buf.slice(0, end);
          buf = buf.slice(end + 5);
          mails.push({ ...env, ...parse(data.replace(/\r\n\.\./g, '\r\n.')) });
          for (const w of waiters.splice(0)) w();
          data = null;
          env = { from: '', to: [] };
          say('250 queued');
          continue;
        }
        const nl = buf.indexOf('\r\n');
        if (nl < 0) return;
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        const cmd = line.slice(0, 4).toUpperCase();
        if (cmd === 'EHLO' || cmd === 'HELO') say('250 sink');
        else if (cmd === 'MAIL') { env.from = line.replace(/^MAIL FROM:\s*/i, ''); say('250 ok'); }
        else if (cmd === 'RCPT') { env.to.push(line.replace(/^RCPT TO:\s*<?([^>]*)>?.*$/i, '$1')); say('250 ok'); }
        else if (cmd === 'DATA') { data = ''; say('354 go on'); }
        else if (cmd === 'RSET') { env = { from: '', to: [] }; say('250 ok'); }
        else if (cmd === 'QUIT') { say('221 bye'); sock.end(); return; }
        else say('250 ok');
      }
    });
    sock.on('error', () => {});
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const waitFor = async (addr, ms = 60000) => {   // a deadline, not a timing: returns at the mail
    const until = Date.now() + ms;
    for (;;) {
      const m = mails.find((x) => x.to.includes(addr));
      if (m) return m;
      if (Date.now() > until) throw new Error(`no mail to ${addr} arrived`);
      await new Promise((r) => { waiters.push(r); setTimeout(r, 200); });
    }
  };
  return { port: server.address().port, mails, waitFor, close: () => new Promise((r) => server.close(r)) };
}
