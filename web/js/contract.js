// The Contract page (/contract, managers): the tenant's contract (A4), the provider (A3), and
// what the service catalog promises for the contracted services (docs/lifecycle.md "Service
// catalog"): how long each kind of record is kept and which service that comes from, the
// erasure deadline after termination and its day-1 rule, where change and incident notices
// go, whether provider staff may access the data, the responsibility boundary of each
// service (A2), the features a new contract starts with (D4) and their state now, with a
// switch for each, and the quota and its use; when the contract's end (or an option's) is
// scheduled, first of all its day, the erasure deadline, what will be erased and how to
// export (B3). Everything comes from GET /api/v1/tenant.
import { api, fmtSize, fmtTime, h, lang, reason, say, st, strings, t, table } from './ui.js';

strings({
  cContract: ['契約内容', 'The contract'],
  cServiceCodes: ['サービスコード', 'Service codes'],
  cOptionOwns: ['このオプションのデータ', "This option's data"],
  cOtherItem: ['契約項目 (データなし)', 'contract item (owns no data)'],
  cRecords: ['記録の保存期間と消去', 'Records kept and erasure'],
  cRecordsHelp: ['複数のサービスを契約している場合は、分類ごとに最も長い保存期間と、最も短い消去期限が適用されます。',
    'With several services, each category is kept for the longest period and data is erased by the shortest deadline.'],
  cCategory: ['記録の分類', 'Category of records'], cKept: ['保存期間', 'Kept for'], cFrom: ['根拠のサービス', 'From service'],
  cDays: [' 日間', ' days'], cDaysToday: [' 日間 (当日を含む)', ' days (today included)'],
  cDaysBefore: [' 日間 (当日を含まない)', ' days (before today)'], cPeriodContract: ['契約期間中', 'for the contract period'],
  catAuthentication: ['認証', 'Authentication'], catOperation: ['操作', 'Operation'], catAccess: ['アクセス (閲覧)', 'Access (views)'],
  catDelivery: ['メール配信', 'Mail delivery'], catAdministration: ['管理', 'Administration'], catOperator: ['提供者の操作', 'Operator'],
  cErasure: ['契約終了後のデータ消去', 'Erasure after termination'],
  cErasureAfter: ['契約終了日の翌日を 1 日目として ', 'Within '],
  cErasureAfterEnd: [' 日以内', ' days, counting the day after termination as day 1'],
  cErasureOn: ['契約終了日を 1 日目として ', 'Within '],
  cErasureOnEnd: [' 日以内', ' days, counting the termination day as day 1'],
  cNotices: ['お知らせの経路', 'Where notices go'], cChange: ['変更・保守のお知らせ', 'Change and maintenance notices'],
  cIncident: ['インシデントのお知らせ', 'Incident notices'], cChannel: ['経路', 'Channel'],
  chPortal: ['ポータル', 'Portal'], chManagers: ['管理者へのメール', 'Mail to managers'],
  chContacts: ['登録された連絡先へのメール', 'Mail to the registered contacts'],
  cAccess: ['提供者によるデータへのアクセス', 'Provider access to your data'],
  cAccessNever: ['提供者の担当者がお客様のデータにアクセスすることはありません (同意があっても不可)。',
    'Provider staff never access your data, not even with your consent.'],
  cAccessConsent: ['提供者の担当者は、お客様の事前の承認 (期限付き) がある場合、または通知される緊急時のみアクセスします。',
    'Provider staff access your data only with your time-limited approval, or in an emergency you are told about.'],
  cFeatures: ['初期状態と機能', 'Initial state and features'],
  cFeaturesHelp: ['新しい契約はサービスごとの初期状態で始まります。オフの機能は管理者がオンにするまで使えません。外部との共有は共有リンクとアップロード依頼です。',
    'A new contract starts in the initial state of its services; a feature that is off stays off until a manager turns it on. Outside sharing means share links and upload requests.'],
  cFeature: ['機能', 'Feature'], cInitial: ['初期状態', 'Initial state'], cNow: ['現在', 'Now'],
  fSharing: ['外部との共有', 'Outside sharing'],
  fWebdav: ['WebDAV 接続', 'WebDAV access'], fAppPasswords: ['アプリパスワード', 'App passwords'],
  cOn: ['オン', 'on'], cOff: ['オフ', 'off'], cSwitchOn: ['オンにする', 'Turn on'], cSwitchOff: ['オフにする', 'Turn off'], cTurnOn: ['オンにする: ', 'Turn on: '], cTurnOff: ['オフにする: ', 'Turn off: '],
  cBoundary: ['責任分界点', 'Responsibility boundary'], cScope: ['対象', 'Scope'],
  cProviderRuns: ['提供者の責任', 'The provider runs'], cTenantOwns: ['お客様の責任', 'You are responsible for'],
  dataDavProperties: ['WebDAV のプロパティ', 'WebDAV properties'], dataDavLocks: ['WebDAV のロック', 'WebDAV locks'],
  dataAppPasswords: ['アプリパスワード', 'app passwords'], dataUploadLinks: ['アップロード依頼とアップロード中のデータ', 'upload requests and uploads in progress'],
  dataClientCertificates: ['クライアント証明書と認証局', 'client certificates and CAs'], dataMailLog: ['メール配信ログ', 'the mail delivery log'],
  dataLabels: ['ラベル', 'labels'], cNone: ['なし', 'none'],
  tEnd: ['契約の終了', 'End of the contract'],
  tEnds: ['この契約は次の日の終わりに終了します: ', 'This contract ends at the end of '],
  tEnded: ['この契約は終了しました。データは消去を待っています。', 'This contract has ended; its data waits for erasure.'],
  tEndsAt: ['終了日時', 'Ends at'], tDeadline: ['消去の期限', 'Erasure deadline'],
  tGrace: ['提供者が契約を再開できる期限', 'The provider may reinstate it until'],
  tErases: ['消去されるデータ', 'What will be erased'],
  tExport: ['必要なデータは終了日までにエクスポートしてください (すべてのファイル・メタデータ・監査ログを 1 つの ZIP で): ',
    'Export what you need before the last day (all files, metadata and the audit log as one ZIP): '],
  tOption: ['オプションの終了', 'An option ends'], tOptionEnds: ['終了日', 'Last day'],
  tOptionErased: ['消去済み', 'erased'], tOptionScheduled: ['予定', 'scheduled'],
  eFiles: ['ファイル', 'files'], eFolders: ['フォルダー', 'folders'], eTrash: ['ごみ箱', 'the trash'],
  eAccounts: ['アカウント', 'accounts'], eSessions: ['セッション', 'sessions'], eAppPasswords: ['アプリパスワード', 'app passwords'],
  eMfa: ['多要素認証の登録', 'MFA enrolments'], eShares: ['共有リンク', 'share links'], eLabels: ['ラベル', 'labels'],
  eDavProperties: ['WebDAV のプロパティ', 'WebDAV properties'], eDavLocks: ['WebDAV のロック', 'WebDAV locks'],
  eClientCerts: ['クライアント証明書', 'client certificates'], eQueuedMail: ['送信待ちのメール', 'queued mail'],
  eUploads: ['アップロード中のデータ', 'uploads in progress'], eUploadLinks: ['アップロード依頼', 'upload requests'],
  eMailLog: ['メール配信ログ', 'the mail delivery log'],
});

// what an end erases, in words (unknown kinds as they are)
const erases = (list) => (list || []).map((k) => {
  const key = 'e' + camel(k);
  const w = t(key);
  return w === key ? k : w;
}).join(', ');

// The end of the contract (B3) when one is scheduled: the day, the deadline, what goes, how
// to export; and each option whose end is scheduled.
function termination(x) {
  if (!x) return null;
  const kids = [];
  if (x.end_day) {
    kids.push(h('p', { class: 'warn', id: 'termination-notice' },
      x.state === 'scheduled' ? t('tEnds') + x.end_day : t('tEnded')),
    dl([[t('tEndsAt'), fmtTime(x.ends_at)], [t('tDeadline'), h('span', { id: 'erasure-deadline' }, fmtTime(x.erasure_deadline))],
      [t('tGrace'), fmtTime(x.grace_until)], [t('tErases'), erases(x.erases)]]),
    h('p', {}, t('tExport'), h('code', {}, 'GET /api/v1/export')));
  }
  for (const o of x.options || []) {
    kids.push(h('h3', {}, `${t('tOption')}: ${o.option}`),
      dl([[t('tOptionEnds'), `${o.end_day} (${t(o.state === 'erased' ? 'tOptionErased' : 'tOptionScheduled')})`],
        [t('tDeadline'), fmtTime(o.erasure_deadline)], [t('tErases'), erases(o.erases) || t('cNone')]]));
  }
  return kids.length ? section('c-termination', t('tEnd'), ...kids) : null;
}

const CATS = ['authentication', 'operation', 'access', 'delivery', 'administration', 'operator'];
const FEATURES = ['sharing', 'webdav', 'app_passwords'];
const camel = (s) => s.replace(/_([a-z])/g, (_, c) => c.toUpperCase()).replace(/^./, (c) => c.toUpperCase());
const local = (o) => (o ? o[lang === 'en' ? 'en' : 'ja'] : '');
const dl = (pairs) => h('dl', {}, pairs.map(([k, v]) => [h('dt', {}, k),
  h('dd', {}, v === undefined || v === null || v === '' ? '—' : v)]));
const kept = (r) => (r.period === 'contract' ? t('cPeriodContract')
  : String(r.days) + t(r.include_today ? 'cDaysToday' : 'cDaysBefore'));
const section = (id, title, ...kids) => h('section', { 'aria-labelledby': id }, h('h2', { id }, title), ...kids);

function options(d) {
  const cat = new Map();
  for (const s of d.catalog || []) for (const o of s.options) if (o.contracted) cat.set(o.code, o);
  const items = (d.options || []).map((code) => {
    const o = cat.get(code);
    if (!o) return h('li', {}, h('code', {}, code), ' — ', t('cOtherItem'));
    const owns = o.owns.length ? o.owns.map((x) => t('data' + camel(x))).join(', ') : t('cNone');
    return h('li', {}, h('code', {}, code), ` ${local(o.name)} — ${t('cOptionOwns')}: ${owns}`);
  });
  return items.length ? h('ul', {}, items) : '—';
}

function channels(list) {
  return table([t('cChannel'), t('cFrom')], list.map((c) =>
    h('tr', {}, h('td', {}, t('ch' + camel(c.channel))), h('td', {}, c.services.join(', ')))));
}

export async function contract(view) {
  const [tn, q, pv] = await Promise.all(['/api/v1/tenant', '/api/v1/quota', '/api/v1/provider'].map((p) => api('GET', p)));
  if (!tn.ok) return say(t('refused'), reason(tn));
  const d = tn.data, e = d.effective;
  const names = new Map((d.catalog || []).map((s) => [s.code, local(s.name)]));
  const svc = (code) => (names.has(code) ? `${code} (${names.get(code)})` : code);
  const erasure = e.erasure.day1 === 'after-termination'
    ? t('cErasureAfter') + e.erasure.days + t('cErasureAfterEnd') : t('cErasureOn') + e.erasure.days + t('cErasureOnEnd');

  const featureRows = h('tbody', {});
  const paintFeatures = (now) => featureRows.replaceChildren(...FEATURES.map((f) => {
    const init = e.initial_state[f], on = !!now[f], label = t('f' + camel(f));
    return h('tr', { 'data-feature': f },
      h('th', { scope: 'row' }, label),
      h('td', {}, `${t(init.on ? 'cOn' : 'cOff')} (${init.service})`),
      h('td', {}, h('div', { class: 'actions' }, h('span', { class: 'now' }, t(on ? 'cOn' : 'cOff')),
        h('button', { type: 'button', class: on ? 'danger' : undefined,
          'aria-label': (on ? t('cTurnOff') : t('cTurnOn')) + label,
          onclick: async () => {
            const r = await api('PATCH', '/api/v1/tenant/features', { [f]: !on });
            if (!r.ok) return say(t('refused'), reason(r));
            say(t('saved'));
            paintFeatures(r.data);
            featureRows.querySelector(`tr[data-feature="${f}"] button`).focus();
          } }, t(on ? 'cSwitchOff' : 'cSwitchOn')))));
  }));
  paintFeatures(d.features || {});

  view.append(h('h1', {}, t('contract')),
    termination(d.termination),
    section('c-contract', t('cContract'),
      dl([[t('tenantCode'), h('code', {}, d.code)], [t('tenantName'), d.name], [t('status'), st(d.status)],
        [t('timeZone'), d.time_zone], [t('services'), (d.services || []).map(svc).join(', ')],
        [t('options'), options(d)], [t('createdAt'), fmtTime(d.created_at)]])),
    section('c-records', t('cRecords'),
      h('p', { class: 'muted' }, t('cRecordsHelp')),
      table([t('cCategory'), t('cKept'), t('cFrom')], CATS.map((c) => h('tr', { 'data-category': c },
        h('th', { scope: 'row' }, t('cat' + camel(c))), h('td', {}, kept(e.retention[c])), h('td', {}, e.retention[c].service)))),
      dl([[t('cErasure'), h('span', { id: 'erasure' }, erasure, ` (${e.erasure.service})`)]])),
    section('c-notices', t('cNotices'),
      h('h3', {}, t('cChange')), channels(e.change_notices),
      h('h3', {}, t('cIncident')), channels(e.incident_notices)),
    section('c-access', t('cAccess'),
      h('p', { id: 'operator-access' }, t(e.operator_access.value === 'never' ? 'cAccessNever' : 'cAccessConsent'),
        ` (${e.operator_access.service})`)),
    section('c-features', t('cFeatures'),
      h('p', { class: 'muted' }, t('cFeaturesHelp')),
      table([t('cFeature'), t('cInitial'), t('cNow')], featureRows)),
    section('c-boundary', t('cBoundary'), (d.catalog || []).map((s) => [
      h('h3', {}, svc(s.code)),
      table([t('cScope'), t('cProviderRuns'), t('cTenantOwns')], s.boundary.map((b) =>
        h('tr', {}, h('th', { scope: 'row' }, local(b.scope)), h('td', {}, local(b.provider)), h('td', {}, local(b.tenant)))))])),
    q.ok ? section('c-quota', t('quota'),
      h('progress', { id: 'usage', max: q.data.quota_bytes || 1, value: q.data.used_bytes, 'aria-label': t('used') }),
      dl([[t('quota'), fmtSize(q.data.quota_bytes)], [t('used'), `${fmtSize(q.data.used_bytes)} (${((100 * q.data.used_bytes) / (q.data.quota_bytes || 1)).toFixed(2)}%)`],
        [t('available'), fmtSize(q.data.available_bytes)]])) : null,
    pv.ok ? section('c-provider', t('provider'),
      dl([[t('name'), pv.data.name], [t('address'), pv.data.address], [t('contact'), pv.data.contact],
        [t('dataLocation'), pv.data.data_location], [t('jurisdiction'), pv.data.jurisdiction]])) : null);
}
