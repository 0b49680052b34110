// My account: profile, password, second factors (the /mfa page), app passwords (shown once,
// with instructions for the usual WebDAV clients), sign-in history, language, and the
// export of one's own files (for managers also of the whole tenant: GET /api/v1/export).
import { api, btn, field, fmtTime, h, lang, reason, say, setLang, strings, t, table } from './ui.js';

strings({
  exportData: ['データのエクスポート', 'Export data'],
  dataExportHelp: ['ZIP ファイルとしてダウンロードします (作成しながら送信)。ごみ箱の中身は含まれません。',
    'Downloaded as one ZIP file, built while it is sent. Files in the trash are not included.'],
  exportMine: ['自分のファイルをすべてダウンロード', 'Download all my files'],
  exportMineHelp: ['自分がアップロードしたファイル、自分の共有リンクとアカウント情報 (パスワードなどの秘密情報は含みません)。',
    'The files you uploaded, your share links and your account details (no password or other secret).'],
  exportTenant: ['テナントのデータをエクスポート', "Export the tenant's data"],
  exportTenantHelp: ['テナントの全ファイル、フォルダ・ラベル・共有リンク・アカウントのメタデータ、検証可能な監査ログ (kura audit verify)。',
    "Every file of the tenant, the metadata of folders, labels, share links and accounts, and the verifiable audit log (kura audit verify)."],
});

const howTo = (url, user) => [
  ['Windows (ネットワーク ドライブの割り当て / Map network drive)', `\\\\${location.host}@SSL\\DavWWWRoot\\dav\\${user.split('@')[1]}\n` +
    `net use K: ${url} /user:${user} *`],
  ['macOS Finder (サーバへ接続 / Connect to Server, ⌘K)', url],
  ['rclone', `rclone config create kura webdav url=${url} vendor=other user=${user} pass=$(rclone obscure 'SECRET')\nrclone ls kura:`],
  ['davfs2', `sudo mount -t davfs ${url} /mnt/kura   # user: ${user}`],
  ['cadaver', `cadaver ${url}   # user: ${user}`],
];

export async function account(view, ctx) {
  const me = ctx.me;
  const dn = h('input', { id: 'display-name', value: me.display_name || '', maxlength: 100 });
  const cur = h('input', { id: 'cur-pw', type: 'password', autocomplete: 'current-password', required: true });
  const n1 = h('input', { id: 'new-pw', type: 'password', autocomplete: 'new-password', minlength: 12, maxlength: 128, required: true });
  const n2 = h('input', { id: 'new-pw2', type: 'password', autocomplete: 'new-password', required: true });
  const apName = h('input', { id: 'ap-name', maxlength: 100, required: true });
  const apScope = h('select', { id: 'ap-scope' }, h('option', { value: 'read' }, t('scopeRead')),
    h('option', { value: 'read-write' }, t('scopeRw')));
  const apList = h('tbody');
  const apShown = h('div', { id: 'ap-secret', role: 'status' });
  const langSel = h('select', { id: 'lang-select' }, h('option', { value: 'ja', selected: lang === 'ja' }, '日本語'),
    h('option', { value: 'en', selected: lang === 'en' }, 'English'));
  langSel.addEventListener('change', () => { setLang(langSel.value); location.reload(); });
  const loginsBody = h('tbody');

  const loadAp = async () => {
    const r = await api('GET', '/api/v1/me/app-passwords');
    if (!r.ok) return;
    apList.replaceChildren(...r.data.items.map((a) => h('tr', { 'data-id': a.id },
      h('td', {}, h('bdi', {}, a.name)), h('td', {}, a.scope === 'read' ? t('scopeRead') : t('scopeRw')),
      h('td', {}, fmtTime(a.created_at)), h('td', {}, fmtTime(a.last_used_at), a.last_used_address ? ' ' + a.last_used_address : ''),
      h('td', {}, btn(t('revoke'), async () => {
        const x = await api('DELETE', `/api/v1/me/app-passwords/${a.id}`);
        say(x.ok ? t('revoked') : t('refused'), x.ok ? undefined : reason(x));
        loadAp();
      }, 'danger')))));
  };
  const loadLogins = async () => {
    const r = await api('GET', '/api/v1/me/logins?limit=50');
    if (!r.ok) return;
    loginsBody.replaceChildren(...r.data.logins.slice().reverse().map((l) => h('tr', {},
      h('td', {}, fmtTime(l.time)), h('td', {}, l.result), h('td', {}, l.source_ip || ''),
      h('td', { class: 'ua' }, l.user_agent || ''), h('td', {}, l.reason || ''))));
  };

  view.append(
    h('h1', {}, t('account')),
    h('section', {}, h('h2', {}, t('profile')),
      h('dl', {}, h('dt', {}, t('login')), h('dd', {}, me.login), h('dt', {}, t('email')), h('dd', {}, me.email || ''),
        h('dt', {}, t('role')), h('dd', {}, t(me.role)), h('dt', {}, t('lastLogin')), h('dd', {}, fmtTime(me.last_login_at))),
      h('form', { class: 'row', id: 'profile-form', onsubmit: async (ev) => {
        ev.preventDefault();
        const r = await api('PATCH', '/api/v1/me', { display_name: dn.value });
        say(r.ok ? t('saved') : t('refused'), r.ok ? undefined : reason(r));
      } }, field(t('displayName'), dn), h('button', { type: 'submit' }, t('save'))),
      field(t('language'), langSel)),
    h('section', {}, h('h2', {}, t('changePw')),
      h('form', { id: 'pw-form', onsubmit: async (ev) => {
        ev.preventDefault();
        if (n1.value !== n2.value) return say(t('pwDiffer'));
        const r = await api('POST', '/api/v1/me/password', { current_password: cur.value, new_password: n1.value });
        say(r.ok ? t('saved') : t('refused'), r.ok ? undefined : reason(r));
        if (r.ok) { cur.value = n1.value = n2.value = ''; }
      } }, field(t('currentPw'), cur), field(t('newPw'), n1), field(t('confirmPw'), n2),
      h('button', { type: 'submit' }, t('change')))),
    h('section', {}, h('h2', {}, t('mfa')), h('p', {}, h('a', { href: '/mfa' }, t('mfaManage')))),
    h('section', {}, h('h2', {}, t('appPw')), h('p', { class: 'muted' }, t('appPwHelp')),
      h('form', { class: 'row', id: 'ap-form', onsubmit: async (ev) => {
        ev.preventDefault();
        const r = await api('POST', '/api/v1/me/app-passwords', { name: apName.value, scope: apScope.value });
        if (!r.ok) return say(t('refused'), reason(r));
        const url = `${location.origin}/dav/${r.data.username.split('@')[1]}/`;
        apShown.replaceChildren(h('p', {}, t('appPwShown')),
          h('dl', {}, h('dt', {}, t('username')), h('dd', {}, h('code', {}, r.data.username)),
            h('dt', {}, t('password')), h('dd', {}, h('code', { id: 'ap-secret-value' }, r.data.secret))),
          h('h3', {}, t('howTo')), ...howTo(url, r.data.username).map(([k, v]) => h('details', {}, h('summary', {}, k), h('pre', {}, v))));
        apName.value = '';
        loadAp();
      } }, field(t('name'), apName), field(t('scope'), apScope), h('button', { type: 'submit' }, t('create'))),
      apShown,
      table([t('name'), t('scope'), t('createdAt'), t('lastUsed'), t('actions')], apList)),
    h('section', {}, h('h2', {}, t('logins')),
      table([t('time'), t('result'), t('address'), t('agent'), t('reason')], loginsBody)),
    h('section', { id: 'export' }, h('h2', {}, t('exportData')), h('p', { class: 'muted' }, t('dataExportHelp')),
      h('ul', {},
        h('li', {}, h('a', { id: 'export-mine', href: '/api/v1/export?scope=mine', download: '' }, t('exportMine')),
          h('p', { class: 'muted' }, t('exportMineHelp'))),
        me.role === 'manager' ? h('li', {}, h('a', { id: 'export-tenant', href: '/api/v1/export?scope=tenant', download: '' },
          t('exportTenant')), h('p', { class: 'muted' }, t('exportTenantHelp'))) : null)));
  await Promise.all([loadAp(), loadLogins()]);
}
