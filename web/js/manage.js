// The managers' pages: accounts, security (IP allowlist with the caller's own address and a
// warning before a self-lockout, lockout, MFA and share policy), logs (the audit log with
// filters in the tenant's zone, paging, CSV/JSONL download with the public key and the
// offline verification steps; the mail delivery log) and the contract.
import { api, btn, field, fmtTime, h, reason, say, st, strings, t, table, zone, zoneToUtc } from './ui.js';

const enc = encodeURIComponent;
const opt = (v, label, sel) => h('option', { value: v, selected: v === sel }, label);
const done = (r) => say(r.ok ? t('saved') : t('refused'), r.ok ? undefined : reason(r));

strings({
  inviteWho: ['ユーザーまたは管理者を招待', 'Invite a user or a manager'],
  inviteHelp: ['招待メールが届いた人は、メールのリンクから自分のパスワードを決めてサインインします (リンクの有効期限はメールに書かれています)。',
    'The invited person gets a mail with a link, chooses a password there and can then sign in (the mail says until when the link works).'],
  invitedTo: ['招待メールを送りました: ', 'Invitation mail sent to: '],
  findAccounts: ['アカウントを検索', 'Find accounts'],
  findText: ['ログイン ID・名前・メールアドレス', 'Login, name or email'],
  anyRole: ['すべての役割', 'Any role'], anyStatus: ['すべての状態', 'Any status'], lockedState: ['ロック中', 'locked'],
  shownRange: ['{a}–{b} 件目を表示 (全 {n} 件)', 'Showing {a}–{b} of {n}'],
  prevPage: ['前のページ', 'Previous page'],
  noMatch: ['該当するアカウントはありません。', 'No account matches.'],
  mfaNone: ['未設定', 'none'], mfaTotp: ['認証アプリ', 'authenticator app'],
  mfaKeys: ['セキュリティキー ', 'security keys: '], mfaCodes: ['リカバリーコード残り ', 'recovery codes left: '],
  lockedUntil: ['ロック中 ({time} まで)', 'locked until {time}'],
  never: ['なし', 'never'], from_: ['接続元 ', 'from '],
  changeRole: ['役割を変更', 'Change role'],
  confirmReset: ['このアカウントのパスワードを無効にし、再設定のリンクをメールで送りますか: ', "Stop this account's password now and mail it a link to choose a new one? "],
  resetSent: ['パスワードを無効にし、再設定のリンクを送りました。', 'The password no longer works; a reset link was mailed.'],
  unlocked: ['ロックを解除しました。', 'Unlocked.'],
  inviteYou: ['(あなた)', '(you)'],
});

// A table that reflows on a phone: each row becomes a card, each cell labelled by its
// column's heading (data-label, shown by kura.css .reflow).
// (each cell's content goes into one <div>, the card's second column)
const label = (heads, tr) => {
  [...tr.children].forEach((td, i) => { td.setAttribute('data-label', heads[i]); td.replaceChildren(h('div', {}, [...td.childNodes])); });
  return tr;
};

const mfaText = (m) => {
  if (!m) return '—';
  const parts = [];
  if (m.totp) parts.push(t('mfaTotp'));
  if (m.security_keys) parts.push(t('mfaKeys') + m.security_keys);
  if (!parts.length) return t('mfaNone');
  parts.push(t('mfaCodes') + m.recovery_codes_remaining);
  return parts.join(' · ');
};

export async function accounts(view, ctx) {
  const PAGE = 50;
  const body = h('tbody');
  const login = h('input', { id: 'inv-login', maxlength: 64, required: true, pattern: '[a-z0-9][a-z0-9._\\-]*',
    autocomplete: 'off', 'aria-describedby': 'inv-help' });
  const email = h('input', { id: 'inv-email', type: 'email', required: true, autocomplete: 'off' });
  const dn = h('input', { id: 'inv-name', maxlength: 100, autocomplete: 'off' });
  const role = h('select', { id: 'inv-role' }, opt('user', t('user')), opt('manager', t('manager')));
  const q = h('input', { id: 'acc-q', type: 'search', maxlength: 254 });
  const fRole = h('select', { id: 'acc-role' }, opt('', t('anyRole')), opt('manager', t('manager')), opt('user', t('user')));
  const fStatus = h('select', { id: 'acc-status' }, opt('', t('anyStatus')),
    ['active', 'invited', 'suspended'].map((v) => opt(v, st(v))), opt('locked', t('lockedState')));
  const count = h('p', { id: 'acc-count', 'aria-live': 'polite' });
  const heads = [t('login'), t('displayName'), t('email'), t('role'), t('status'), t('lastLogin'), t('mfaState'), t('locked'), t('actions')];
  let offset = 0;
  const prev = btn(t('prevPage'), () => load(Math.max(0, offset - PAGE)), 'plain');
  const next = btn(t('next'), () => load(offset + PAGE), 'plain');
  const load = async (off = offset) => {
    const p = new URLSearchParams({ limit: PAGE, offset: off });
    if (q.value.trim()) p.set('q', q.value.trim());
    if (fRole.value) p.set('role', fRole.value);
    if (fStatus.value) p.set('status', fStatus.value);
    const r = await api('GET', '/api/v1/accounts?' + p);
    if (!r.ok) return say(t('refused'), reason(r));
    offset = off;
    const act = (p2, okMsg) => p2.then((x) => { say(x.ok ? okMsg || t('saved') : t('refused'), x.ok ? undefined : reason(x)); load(); });
    body.replaceChildren(...r.data.items.map((a) => {
      const self = a.login === ctx.me.login;
      const path = `/api/v1/accounts/${enc(a.login)}`;
      const other = a.role === 'manager' ? 'user' : 'manager';
      return label(heads, h('tr', { 'data-login': a.login },
        h('td', {}, a.login, self ? ' ' + t('inviteYou') : ''), h('td', {}, h('bdi', {}, a.display_name || '')), h('td', {}, a.email),
        h('td', {}, t(a.role)), h('td', { 'data-state': a.status }, st(a.status)),
        h('td', { class: 'last-login' }, a.last_login_at ? fmtTime(a.last_login_at) : t('never'),
          a.last_login_ip ? h('br') : null, a.last_login_ip ? t('from_') + a.last_login_ip : null),
        h('td', { class: 'mfa' }, mfaText(a.mfa)),
        h('td', { class: 'lock' }, a.locked_until ? t('lockedUntil').replace('{time}', fmtTime(a.locked_until)) : a.locked ? t('yes') : t('no')),
        h('td', {}, h('div', { class: 'actions' },
          self ? null : btn(`${t('changeRole')}: ${t(other)}`, () => act(api('PATCH', path, { role: other })), 'plain'),
          self || a.status === 'invited' ? null : btn(a.status === 'suspended' ? t('resume') : t('suspend'),
            () => act(api('PATCH', path, { status: a.status === 'suspended' ? 'active' : 'suspended' })), 'plain'),
          a.locked ? btn(t('unlock'), () => act(api('POST', `${path}/unlock`), t('unlocked')), 'plain') : null,
          self || a.status === 'invited' ? null : btn(t('forceReset'), () => {
            if (window.confirm(t('confirmReset') + a.login)) act(api('POST', `${path}/password-reset`), t('resetSent'));
          }, 'plain'),
          self ? null : btn(t('del'), () => {
            if (window.confirm(t('confirmDelete') + a.login)) act(api('DELETE', path), t('deleted'));
          }, 'danger')))));
    }));
    if (!r.data.items.length) body.append(h('tr', {}, h('td', { colspan: heads.length }, t('noMatch'))));
    const total = r.data.total ?? r.data.items.length;
    count.textContent = total ? t('shownRange').replace('{a}', off + 1).replace('{b}', off + r.data.items.length).replace('{n}', total) : '';
    prev.hidden = off === 0;
    next.hidden = off + r.data.items.length >= total;
  };
  view.append(h('h1', {}, t('accounts')),
    h('section', {}, h('h2', {}, t('inviteWho')),
      h('p', { id: 'inv-help', class: 'hint' }, t('inviteHelp')),
      h('form', { id: 'invite-form', class: 'grid', onsubmit: async (ev) => {
        ev.preventDefault();
        const b = { login: login.value, email: email.value, role: role.value };
        if (dn.value) b.display_name = dn.value;
        const r = await api('POST', '/api/v1/accounts', b);
        say(r.ok ? t('invitedTo') + b.email : t('refused'), r.ok ? undefined : reason(r));
        if (r.ok) { login.value = email.value = dn.value = ''; load(0); }
      } }, field(t('login'), login), field(t('email'), email), field(t('displayName'), dn), field(t('role'), role),
      h('button', { type: 'submit' }, t('invite')))),
    h('section', {}, h('h2', {}, t('findAccounts')),
      h('form', { id: 'account-filter', class: 'grid', role: 'search', onsubmit: (ev) => { ev.preventDefault(); load(0); } },
        field(t('findText'), q), field(t('role'), fRole), field(t('status'), fStatus),
        h('button', { type: 'submit' }, t('search'))),
      count,
      h('div', { class: 'scroll reflow', tabindex: 0, role: 'region', 'aria-label': t('accounts') },
        h('table', { id: 'accounts' }, h('thead', {}, h('tr', {}, heads.map((x) => h('th', { scope: 'col' }, x)))), body)),
      h('div', { class: 'row' }, prev, next)));
  await load(0);
}

strings({
  allowlistHelp: ['ここに書いた範囲 (例: 203.0.113.0/24) からだけ、管理者 (「ユーザーにも適用」なら全員) がサインインできます。空にすると制限しません。',
    'Only addresses in these ranges (e.g. 203.0.113.0/24) can sign in as a manager (everyone, with "Apply to users too"). Empty: no restriction.'],
  addMine: ['自分のアドレスを追加', 'Add my address'],
  lockoutWarnTitle: ['保存していません。', 'Not saved.'],
  lockoutConfirm: ['それでも保存 (このアドレスからは使えなくなります)', 'Save anyway (I lose access from this address)'],
  defaultsAre: ['既定値: ', 'Defaults: '],
  lockoutHelp: ['期間内にパスワードを続けて間違えると、そのアカウントをロック時間のあいだロックします。管理者は「ユーザー」ページで解除できます。',
    'This many wrong passwords within the window lock the account for the lock duration. Managers can unlock it on the Accounts page.'],
  mfaHelp: ['「必須」の役割の人は、次のサインインで認証アプリかセキュリティキーを設定するまで先に進めません。変更には現在のパスワードが必要です。',
    'People of a role set to "required" must set up an authenticator app or a security key at their next sign-in. Changing this needs your current password.'],
  shareHelp: ['新しい共有リンクの有効期限の既定値と上限です。作成済みのリンクは変わりません。', 'Expiry of new share links: the default and the longest allowed. Existing links keep theirs.'],
  upTo: ['上限 ', 'at most '], days: [' 日', ' days'],
});

export async function security(view) {
  const [al, lk, mp, sp] = await Promise.all(['/api/v1/tenant/ip-allowlist', '/api/v1/tenant/security',
    '/api/v1/tenant/mfa-policy', '/api/v1/tenant/share-policy'].map((p) => api('GET', p)));
  const mine = al.ok ? al.data.your_address : '';
  const ranges = h('textarea', { id: 'ranges', rows: 5, 'aria-describedby': 'allowlist-help' });
  ranges.value = al.ok ? al.data.ranges.join('\n') : '';
  const all = h('input', { id: 'apply-all', type: 'checkbox', checked: al.ok && al.data.apply_to_all_users });
  const warn = h('div', { id: 'lockout-warning', class: 'warn', role: 'alert', hidden: true });
  const allowedState = h('span', { id: 'your-address-state' });
  const paintAllowed = (ok) => { allowedState.textContent = ok ? t('allowed') : t('notAllowed'); };
  paintAllowed(al.ok && al.data.your_address_allowed);
  const addMine = () => {
    if (!mine) return;
    const cidr = mine.includes(':') ? `${mine}/128` : `${mine}/32`;
    ranges.value = [...ranges.value.split(/\s+/).filter(Boolean), cidr].join('\n');
    warn.hidden = true;
    ranges.focus();
  };
  const saveAl = async (confirm) => {
    const r = await api('PUT', '/api/v1/tenant/ip-allowlist', { ranges: ranges.value.split(/\s+/).filter(Boolean),
      apply_to_all_users: all.checked, confirm_lockout: confirm });
    if (r.status === 409 && r.data.type && r.data.type.endsWith('self-lockout')) {
      // the server refuses a list that would shut the caller out unless confirmed: say so,
      // with its words, and offer the two ways on
      const yes = btn(t('lockoutConfirm'), () => saveAl(true), 'danger');
      warn.replaceChildren(h('strong', {}, t('lockoutWarnTitle')), ' ', t('selfLockout'), h('code', {}, mine || '?'),
        h('div', { class: 'actions' }, btn(t('addMine'), addMine), yes));
      warn.hidden = false;
      say(t('refused'), reason(r));
      yes.focus();
      return;
    }
    warn.hidden = true;
    if (r.ok) paintAllowed(r.data.your_address_allowed);
    done(r);
  };
  const num = (id, v, min, max) => h('input', { id, type: 'number', min, max, value: v, required: true });
  const thr = num('lk-threshold', lk.ok ? lk.data.lockout_threshold : '', 1, 100);
  const win = num('lk-window', lk.ok ? lk.data.lockout_window_seconds : '', 60, 86400);
  const dur = num('lk-duration', lk.ok ? lk.data.lockout_duration_seconds : '', 60, 604800);
  const defs = lk.ok && lk.data.defaults ? `${t('defaultsAre')}${t('threshold')} ${lk.data.defaults.lockout_threshold}, ` +
    `${t('window')} ${lk.data.defaults.lockout_window_seconds}, ${t('duration')} ${lk.data.defaults.lockout_duration_seconds}` : '';
  const mm = h('select', { id: 'mfa-managers' }, ['required', 'optional'].map((v) => opt(v, t(v), mp.ok && mp.data.managers)));
  const mu = h('select', { id: 'mfa-users' }, ['off', 'optional', 'required'].map((v) => opt(v, t(v), mp.ok && mp.data.users)));
  const mpw = h('input', { id: 'mfa-password', type: 'password', autocomplete: 'current-password', required: true });
  const ceil = sp.ok && sp.data.ceiling_s ? Math.floor(sp.data.ceiling_s / 86400) : 365;
  const dd = num('sp-default', sp.ok ? Math.round(sp.data.default_expiry_s / 86400) : '', 1, ceil);
  const dm = num('sp-max', sp.ok ? Math.round(sp.data.max_expiry_s / 86400) : '', 1, ceil);
  const form = (id, title, help, onsubmit, ...kids) => h('section', {}, h('h2', {}, title),
    help ? h('p', { class: 'hint', id: id + '-help' }, help) : null,
    h('form', { id, onsubmit: (ev) => { ev.preventDefault(); onsubmit(); } }, ...kids, h('button', { type: 'submit' }, t('save'))));
  view.append(h('h1', {}, t('security')),
    form('allowlist-form', t('allowlist'), null, () => saveAl(false),
      h('p', { class: 'hint', id: 'allowlist-help' }, t('allowlistHelp')),
      h('p', { id: 'your-address' }, t('yourAddress'), h('code', {}, mine || '?'), ' (', allowedState, ') ',
        mine ? btn(t('addMine'), addMine, 'plain') : null),
      field(t('ranges'), ranges), h('label', { class: 'check' }, all, ' ', t('applyAll')), warn),
    form('lockout-form', t('lockout'), t('lockoutHelp'), async () => done(await api('PATCH', '/api/v1/tenant/security', {
      lockout_threshold: Number(thr.value), lockout_window_seconds: Number(win.value), lockout_duration_seconds: Number(dur.value) })),
    field(t('threshold'), thr), field(t('window'), win), field(t('duration'), dur), defs ? h('p', { class: 'hint' }, defs) : null),
    form('mfa-form', t('mfaPolicy'), t('mfaHelp'), async () => {
      done(await api('PATCH', '/api/v1/tenant/mfa-policy', { managers: mm.value, users: mu.value, password: mpw.value }));
      mpw.value = '';
    }, field(t('managers'), mm), field(t('users'), mu), field(t('currentPw'), mpw)),
    form('share-policy-form', t('sharePolicy'), t('shareHelp'), async () => done(await api('PATCH', '/api/v1/tenant/share-policy',
      { default_expiry_s: Number(dd.value) * 86400, max_expiry_s: Number(dm.value) * 86400 })),
    field(t('defaultExpiry'), dd), field(t('maxExpiry'), dm), h('p', { class: 'hint' }, `${t('upTo')}${ceil}${t('days')}`)));
}

strings({
  auditHelp: ['テナント内のサインイン、操作、共有、管理の記録です。時刻はテナントのタイムゾーンで指定します。', "Sign-ins, operations, shares and administration in this tenant. Times are in the tenant's zone."],
  exportHelp: ['上の絞り込みの条件でダウンロードします。JSONL は署名付きで、改ざんや欠落がないことを誰でもオフラインで確かめられます。CSV は表計算用です。',
    'Downloads what the filter above selects. The JSONL is signed: anyone can check offline that nothing was changed or left out. The CSV is for spreadsheets.'],
  downloadKeys: ['公開鍵ファイルをダウンロード', 'Download the public keys'],
  verify1: ['「JSONL (署名付き) をダウンロード」で記録を保存します。', 'Save the records with "Download JSONL (signed)".'],
  verify2: ['「公開鍵ファイルをダウンロード」で鍵を保存します (提供者の契約書類の鍵と同じか確かめてください)。', "Save the keys with \"Download the public keys\" (check they match the keys in the provider's contract documents)."],
  verify3: ['kura コマンドで検証します (サーバーもネットワークも不要です):', 'Verify with the kura command (no server or network needed):'],
  verify4: ['「OK: …verified」と表示されれば、記録はすべて署名どおりです。「FAILED at record seq N」なら、その記録から後は信用できません。',
    'It prints "OK: … verified" when every record is as signed; "FAILED at record seq N" names the first one that is not.'],
  orKey: ['または鍵を直接指定:', 'or give the key itself:'],
  mailLogHelp: ['このテナントから送ったメール (招待、共有、パスワード再設定など) の配信状況です。本文は保存しません。',
    'Delivery of the mails this tenant sent (invitations, shares, password resets …). Bodies are not kept.'],
  lastError: ['エラー', 'Last error'],
  olderPage: ['古い記録へ', 'Older records'], newestPage: ['最新の記録へ', 'Newest records'],
});

// a log table: words stay whole, the table scrolls sideways inside itself on a phone
const wide = (el, name) => { el.classList.add('logs-table'); el.setAttribute('role', 'region'); el.setAttribute('aria-label', name); return el; };

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
  const next = btn(t('olderPage'), () => load(before), 'plain');
  const firstBtn = btn(t('newestPage'), () => load(0), 'plain');
  let before = 0;   // newest first: the next page has records before this seq
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
    p.set('order', 'newest');
    if (a) p.set('before', a);
    const r = await api('GET', '/api/v1/audit?' + p);
    if (!r.ok) return say(t('refused'), reason(r));
    body.replaceChildren(...r.data.events.map((e) => h('tr', {},
      h('td', {}, String(e.seq)), h('td', {}, fmtTime(e.time)), h('td', {}, e.category),
      h('td', {}, h('bdi', {}, (e.actor && e.actor.name) || '')), h('td', {}, e.action), h('td', {}, h('bdi', {}, e.target || '')),
      h('td', { class: 'r-' + e.result }, st(e.result)), h('td', {}, e.source_ip || ''))));
    if (!r.data.events.length) body.append(h('tr', {}, h('td', { colspan: 8 }, t('empty'))));
    before = r.data.next_before;
    next.hidden = before === null || before === undefined;
    firstBtn.hidden = !a;
  };
  const key = await api('GET', '/api/v1/audit/public-key');
  const pub = key.ok ? key.data.public_key : '?';
  const allKeys = key.ok && key.data.keys && key.data.keys.length ? key.data.keys.map((k) => k.public_key) : [pub];
  // the keys as the file `kura audit verify --key FILE` reads: one 64-hex key per line
  const keysFile = h('a', { id: 'export-keys', class: 'button', download: 'kura-audit-keys.txt',
    href: window.URL.createObjectURL(new window.Blob([allKeys.join('\n') + '\n'], { type: 'text/plain' })) }, t('downloadKeys'));
  const mails = await api('GET', '/api/v1/mail-log?limit=50');
  const mailHeads = [t('queuedAt'), t('recipient'), t('subject'), t('state'), t('attempts'), t('sentAt'), t('lastError')];
  view.append(h('h1', {}, t('logs')),
    h('section', {}, h('h2', {}, t('audit')),
      h('p', { class: 'hint' }, t('auditHelp')),
      h('form', { id: 'audit-filter', class: 'grid', onsubmit: (ev) => { ev.preventDefault(); load(0); } },
        field(`${t('from')} (${zone})`, from), field(`${t('to')} (${zone})`, to), field(t('category'), cat),
        field(t('actor'), actor), field(t('action'), action), field(t('result'), result), field(t('target'), target),
        h('button', { type: 'submit' }, t('filter'))),
      wide(table(['#', t('time'), t('category'), t('actor'), t('action'), t('target'), t('result'), t('address')], body), t('audit')),
      h('div', { class: 'row' }, firstBtn, next)),
    h('section', {}, h('h2', {}, t('exportTitle')),
      h('p', { class: 'hint' }, t('exportHelp')),
      h('div', { class: 'actions' }, jsonl, csv, keysFile),
      h('p', {}, t('publicKey'), ': ', h('code', { id: 'public-key' }, pub)),
      h('ol', { id: 'verify-steps' }, h('li', {}, t('verify1')), h('li', {}, t('verify2')), h('li', {}, t('verify3'),
        h('pre', { class: 'steps' }, `kura audit verify kura-audit-*.jsonl --key kura-audit-keys.txt\n# ${t('orKey')}\nkura audit verify kura-audit-*.jsonl --key ${pub}`)),
      h('li', {}, t('verify4')))),
    h('section', {}, h('h2', {}, t('mailLog')),
      h('p', { class: 'hint' }, t('mailLogHelp')),
      wide(table(mailHeads,
        mails.ok ? mails.data.items.map((m) => h('tr', {}, h('td', {}, fmtTime(m.queued_at)), h('td', {}, m.recipient),
          h('td', {}, h('bdi', {}, m.subject || '')), h('td', { 'data-state': m.state }, st(m.state)), h('td', {}, String(m.attempts)),
          h('td', {}, fmtTime(m.sent_at)), h('td', {}, h('bdi', {}, m.last_error || '')))) : []), t('mailLog'))));
  await load(0);
}
