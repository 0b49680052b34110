// The managers' pages: accounts, security (IP allowlist with the caller's own address and a
// warning before a self-lockout, lockout, MFA and share policy), logs (the audit log with
// filters in the tenant's zone, paging, CSV/JSONL download with the public key and the
// offline verification steps; the mail delivery log) and the contract.
import { api, btn, field, fmtSize, fmtTime, h, reason, say, st, t, table, zone, zoneToUtc } from './ui.js';

const enc = encodeURIComponent;
const opt = (v, label, sel) => h('option', { value: v, selected: v === sel }, label);
const done = (r) => say(r.ok ? t('saved') : t('refused'), r.ok ? undefined : reason(r));

export async function accounts(view, ctx) {
  const body = h('tbody');
  const login = h('input', { id: 'inv-login', maxlength: 64, required: true, pattern: '[a-z0-9][a-z0-9._\\-]*' });
  const email = h('input', { id: 'inv-email', type: 'email', required: true });
  const dn = h('input', { id: 'inv-name', maxlength: 100 });
  const role = h('select', { id: 'inv-role' }, opt('user', t('user')), opt('manager', t('manager')));
  const load = async () => {
    const r = await api('GET', '/api/v1/accounts?limit=1000');
    if (!r.ok) return say(t('refused'), reason(r));
    body.replaceChildren(...r.data.items.map((a) => {
      const act = (p) => p.then((x) => { done(x); load(); });
      const self = a.login === ctx.me.login;
      return h('tr', { 'data-login': a.login },
        h('td', {}, a.login), h('td', {}, h('bdi', {}, a.display_name || '')), h('td', {}, a.email),
        h('td', {}, t(a.role)), h('td', {}, st(a.status)), h('td', {}, fmtTime(a.last_login_at)),
        h('td', {}, a.mfa === undefined ? '—' : a.mfa ? t('yes') : t('no')),
        h('td', {}, a.locked ? t('yes') : t('no')),
        h('td', {}, h('div', { class: 'actions' },
          self ? null : btn(a.role === 'manager' ? t('makeUser') : t('makeManager'),
            () => act(api('PATCH', `/api/v1/accounts/${enc(a.login)}`, { role: a.role === 'manager' ? 'user' : 'manager' })), 'plain'),
          self || a.status === 'invited' ? null : btn(a.status === 'suspended' ? t('resume') : t('suspend'),
            () => act(api('PATCH', `/api/v1/accounts/${enc(a.login)}`, { status: a.status === 'suspended' ? 'active' : 'suspended' })), 'plain'),
          a.locked ? btn(t('unlock'), () => act(api('POST', `/api/v1/accounts/${enc(a.login)}/unlock`)), 'plain') : null,
          self || a.status === 'invited' ? null : btn(t('forceReset'), () => act(api('POST', `/api/v1/accounts/${enc(a.login)}/password-reset`)), 'plain'),
          self ? null : btn(t('del'), () => {
            if (window.confirm(t('confirmDelete') + a.login)) act(api('DELETE', `/api/v1/accounts/${enc(a.login)}`));
          }, 'danger'))));
    }));
  };
  view.append(h('h1', {}, t('accounts')),
    h('section', {}, h('h2', {}, t('inviteTitle')),
      h('form', { id: 'invite-form', class: 'grid', onsubmit: async (ev) => {
        ev.preventDefault();
        const b = { login: login.value, email: email.value, role: role.value };
        if (dn.value) b.display_name = dn.value;
        const r = await api('POST', '/api/v1/accounts', b);
        say(r.ok ? t('invited') : t('refused'), r.ok ? undefined : reason(r));
        if (r.ok) { login.value = email.value = dn.value = ''; load(); }
      } }, field(t('login'), login), field(t('email'), email), field(t('displayName'), dn), field(t('role'), role),
      h('button', { type: 'submit' }, t('invite')))),
    table([t('login'), t('displayName'), t('email'), t('role'), t('status'), t('lastLogin'), t('mfaState'), t('locked'), t('actions')], body));
  await load();
}

export async function security(view) {
  const [al, lk, mp, sp] = await Promise.all(['/api/v1/tenant/ip-allowlist', '/api/v1/tenant/security',
    '/api/v1/tenant/mfa-policy', '/api/v1/tenant/share-policy'].map((p) => api('GET', p)));
  const ranges = h('textarea', { id: 'ranges', rows: 5 });
  ranges.value = al.ok ? al.data.ranges.join('\n') : '';
  const all = h('input', { id: 'apply-all', type: 'checkbox', checked: al.ok && al.data.apply_to_all_users });
  const warn = h('div', { id: 'lockout-warning', class: 'warn', role: 'alert', hidden: true });
  const saveAl = async (confirm) => {
    const r = await api('PUT', '/api/v1/tenant/ip-allowlist', { ranges: ranges.value.split(/\s+/).filter(Boolean),
      apply_to_all_users: all.checked, confirm_lockout: confirm });
    if (r.status === 409 && r.data.type && r.data.type.endsWith('self-lockout')) {
      warn.replaceChildren(t('selfLockout') + (al.ok ? al.data.your_address : ''), ' ',
        btn(t('saveAnyway'), () => saveAl(true), 'danger'));
      warn.hidden = false;
      return;
    }
    warn.hidden = true;
    done(r);
  };
  const num = (id, v, min, max) => h('input', { id, type: 'number', min, max, value: v });
  const thr = num('lk-threshold', lk.ok ? lk.data.lockout_threshold : '', 1, 100);
  const win = num('lk-window', lk.ok ? lk.data.lockout_window_seconds : '', 60, 86400);
  const dur = num('lk-duration', lk.ok ? lk.data.lockout_duration_seconds : '', 60, 604800);
  const mm = h('select', { id: 'mfa-managers' }, ['required', 'optional'].map((v) => opt(v, t(v), mp.ok && mp.data.managers)));
  const mu = h('select', { id: 'mfa-users' }, ['off', 'optional', 'required'].map((v) => opt(v, t(v), mp.ok && mp.data.users)));
  const mpw = h('input', { id: 'mfa-password', type: 'password', autocomplete: 'current-password', required: true });
  const dd = num('sp-default', sp.ok ? Math.round(sp.data.default_expiry_s / 86400) : '', 1, 3650);
  const dm = num('sp-max', sp.ok ? Math.round(sp.data.max_expiry_s / 86400) : '', 1, 3650);
  const form = (id, title, onsubmit, ...kids) => h('section', {}, h('h2', {}, title),
    h('form', { id, onsubmit: (ev) => { ev.preventDefault(); onsubmit(); } }, ...kids, h('button', { type: 'submit' }, t('save'))));
  view.append(h('h1', {}, t('security')),
    form('allowlist-form', t('allowlist'), () => saveAl(false),
      h('p', { id: 'your-address' }, t('yourAddress'), h('code', {}, al.ok ? al.data.your_address : '?'), ' (',
        al.ok && al.data.your_address_allowed ? t('allowed') : t('notAllowed'), ')'),
      field(t('ranges'), ranges), h('label', { class: 'check' }, all, ' ', t('applyAll')), warn),
    form('lockout-form', t('lockout'), async () => done(await api('PATCH', '/api/v1/tenant/security', {
      lockout_threshold: Number(thr.value), lockout_window_seconds: Number(win.value), lockout_duration_seconds: Number(dur.value) })),
    field(t('threshold'), thr), field(t('window'), win), field(t('duration'), dur)),
    form('mfa-form', t('mfaPolicy'), async () => done(await api('PATCH', '/api/v1/tenant/mfa-policy',
      { managers: mm.value, users: mu.value, password: mpw.value })),
    field(t('managers'), mm), field(t('users'), mu), field(t('currentPw'), mpw)),
    form('share-policy-form', t('sharePolicy'), async () => done(await api('PATCH', '/api/v1/tenant/share-policy',
      { default_expiry_s: Number(dd.value) * 86400, max_expiry_s: Number(dm.value) * 86400 })),
    field(t('defaultExpiry'), dd), field(t('maxExpiry'), dm)));
}

export async function logs(view) {
  const from = h('input', { id: 'f-from', type: 'datetime-local' });
  const to = h('input', { id: 'f-to', type: 'datetime-local' });
  const cat = h('select', { id: 'f-category' }, opt('', t('all')),
    ['authentication', 'operation', 'access', 'delivery', 'administration', 'operator'].map((c) => opt(c, c)));
  const actor = h('input', { id: 'f-actor', maxlength: 512 });
  const action = h('input', { id: 'f-action', maxlength: 512 });
  const result = h('select', { id: 'f-result' }, opt('', t('all')), ['success', 'failure', 'denied'].map((c) => opt(c, st(c))));
  const target = h('input', { id: 'f-target', maxlength: 512 });
  const body = h('tbody');
  const csv = h('a', { id: 'export-csv', class: 'button', download: '' }, t('exportCsv'));
  const jsonl = h('a', { id: 'export-jsonl', class: 'button', download: '' }, t('exportJsonl'));
  const next = btn(t('next'), () => load(after), 'plain');
  const firstBtn = btn(t('first'), () => load(0), 'plain');
  let after = 0;
  const filters = () => {
    const p = new URLSearchParams();
    if (from.value) p.set('from', zoneToUtc(from.value));
    if (to.value) p.set('to', zoneToUtc(to.value));
    for (const [k, e] of [['category', cat], ['actor', actor], ['action', action], ['result', result], ['target', target]])
      if (e.value.trim()) p.set(k, e.value.trim());
    return p;
  };
  const load = async (a) => {
    const p = filters();
    csv.href = '/api/v1/audit/export?format=csv&' + p;
    jsonl.href = '/api/v1/audit/export?format=jsonl&' + p;
    p.set('limit', 100);
    if (a) p.set('after', a);
    const r = await api('GET', '/api/v1/audit?' + p);
    if (!r.ok) return say(t('refused'), reason(r));
    body.replaceChildren(...r.data.events.map((e) => h('tr', {},
      h('td', {}, String(e.seq)), h('td', {}, fmtTime(e.time)), h('td', {}, e.category),
      h('td', {}, h('bdi', {}, (e.actor && e.actor.name) || '')), h('td', {}, e.action), h('td', {}, h('bdi', {}, e.target || '')),
      h('td', { class: 'r-' + e.result }, st(e.result)), h('td', {}, e.source_ip || ''))));
    if (!r.data.events.length) body.append(h('tr', {}, h('td', { colspan: 8 }, t('empty'))));
    after = r.data.next_after;
    next.hidden = after === null || after === undefined;
    firstBtn.hidden = !a;
  };
  const key = await api('GET', '/api/v1/audit/public-key');
  const pub = key.ok ? key.data.public_key : '?';
  const mails = await api('GET', '/api/v1/mail-log?limit=50');
  view.append(h('h1', {}, t('logs')),
    h('section', {}, h('h2', {}, t('audit')),
      h('form', { id: 'audit-filter', class: 'grid', onsubmit: (ev) => { ev.preventDefault(); load(0); } },
        field(`${t('from')} (${zone})`, from), field(`${t('to')} (${zone})`, to), field(t('category'), cat),
        field(t('actor'), actor), field(t('action'), action), field(t('result'), result), field(t('target'), target),
        h('button', { type: 'submit' }, t('filter'))),
      table(['#', t('time'), t('category'), t('actor'), t('action'), t('target'), t('result'), t('address')], body),
      h('div', { class: 'row' }, firstBtn, next)),
    h('section', {}, h('h2', {}, t('exportTitle')), h('div', { class: 'actions' }, csv, jsonl),
      h('p', {}, t('publicKey'), ': ', h('code', { id: 'public-key' }, pub)),
      h('p', {}, t('verifySteps')), h('pre', {}, `kura audit verify kura-audit-*.jsonl --key ${pub}`)),
    h('section', {}, h('h2', {}, t('mailLog')),
      table([t('queuedAt'), t('recipient'), t('subject'), t('state'), t('attempts'), t('sentAt')],
        mails.ok ? mails.data.items.map((m) => h('tr', {}, h('td', {}, fmtTime(m.queued_at)), h('td', {}, m.recipient),
          h('td', {}, h('bdi', {}, m.subject || '')), h('td', {}, st(m.state)), h('td', {}, String(m.attempts)), h('td', {}, fmtTime(m.sent_at)))) : [])));
  await load(0);
}

export async function contract(view) {
  const [tn, q, pv] = await Promise.all(['/api/v1/tenant', '/api/v1/quota', '/api/v1/provider'].map((p) => api('GET', p)));
  const d = tn.ok ? tn.data : {};
  const dl = (pairs) => h('dl', {}, pairs.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v === undefined || v === null || v === '' ? '—' : String(v))]));
  view.append(h('h1', {}, t('contract')),
    dl([[t('tenantCode'), d.code], [t('tenantName'), d.name], [t('status'), st(d.status)], [t('timeZone'), d.time_zone],
      [t('services'), (d.services || []).join(', ') || '—'], [t('options'), (d.options || []).join(', ') || '—'],
      [t('createdAt'), fmtTime(d.created_at)]]),
    q.ok ? h('section', {}, h('h2', {}, t('quota')),
      h('progress', { id: 'usage', max: q.data.quota_bytes || 1, value: q.data.used_bytes, 'aria-label': t('used') }),
      dl([[t('quota'), fmtSize(q.data.quota_bytes)], [t('used'), `${fmtSize(q.data.used_bytes)} (${((100 * q.data.used_bytes) / (q.data.quota_bytes || 1)).toFixed(2)}%)`], [t('available'), fmtSize(q.data.available_bytes)]])) : null,
    pv.ok ? h('section', {}, h('h2', {}, t('provider')),
      dl([[t('name'), pv.data.name], [t('address'), pv.data.address], [t('contact'), pv.data.contact],
        [t('dataLocation'), pv.data.data_location], [t('jurisdiction'), pv.data.jurisdiction]])) : null);
}
