// The Operator access page (/access, managers; C7, docs/security.md "Operator access by
// approval"): the provider's requests to read this tenant's data, newest first, with their
// reason, case, scope and duration; approve, deny, or end one at once; an emergency access
// in force is announced at the top; how many managers must approve; and, per request, what
// the operator read under it (the records of the tenant's own audit log).
import { api, fmtTime, h, reason, say, strings, t, table } from './ui.js';

strings({
  navAccess: ['提供者のアクセス', 'Operator access'],
  axTitle: ['提供者のアクセス', 'Operator access'],
  axHelp: ['提供者の担当者は、管理者が承認した期限付きの許可の範囲でのみお客様のデータを読めます。読んだものはすべて監査ログに記録されます。',
    'Provider staff read your data only under a time-limited grant that a manager approved, within its scope. Everything they read is recorded in your audit log.'],
  axEmergency: ['緊急アクセスが実行中です', 'Emergency access in progress'],
  axEmergencyText: ['障害対応のため、承認なしで開始されたアクセスです。不要であればただちに終了できます。',
    'It was opened without an approval to deal with a failure. End it at once if it is not needed.'],
  axRequests: ['申請', 'Requests'], axNone: ['申請はありません。', 'No requests.'],
  axId: ['番号', 'No.'], axAsked: ['申請日時', 'Asked'], axOperator: ['担当者', 'Operator'],
  axReason: ['理由', 'Reason'], axScope: ['範囲', 'Scope'], axHours: ['時間', 'Hours'], axState: ['状態', 'State'],
  axApprovals: ['承認', 'Approvals'], axEnds: ['終了', 'Ends'],
  axApprove: ['承認', 'Approve'], axDeny: ['却下', 'Deny'], axRevoke: ['ただちに終了', 'End now'], axDetail: ['詳細', 'Details'],
  axDone: ['保存しました。', 'Saved.'],
  axLowerAsked: ['記録しました。1 人の承認に下げるには、別の管理者がもう一度同じ設定を保存する必要があります。',
    'Recorded: another manager must save the same setting to lower the rule to one approval.'],
  axScopeFiles: ['ファイルの閲覧', 'read files'], axScopeAudit: ['監査ログの閲覧', 'read the audit log'],
  axStPending: ['承認待ち', 'waiting for approval'], axStApproved: ['許可中', 'granted'], axStDenied: ['却下', 'denied'],
  axStRevoked: ['終了済み', 'ended'], axStLapsed: ['失効', 'lapsed'], axStExpired: ['期限切れ', 'expired'],
  axEmergencyMark: ['緊急', 'emergency'],
  axPolicy: ['承認に必要な管理者の数', 'Managers who must approve'],
  axPolicyHelp: ['2 にすると、異なる 2 人の管理者が承認するまで許可は始まりません。', 'With 2, a grant starts only after two different managers approved.'],
  axOne: ['1 人', 'one'], axTwo: ['2 人 (異なる管理者)', 'two (different managers)'], axSave: ['保存', 'Save'],
  axReads: ['この許可のもとでの記録', 'Recorded under this grant'], axNoReads: ['記録はありません。', 'Nothing recorded.'],
  axTime: ['日時', 'Time'], axAction: ['操作', 'Action'], axWhat: ['対象', 'What'], axApprovedBy: ['承認者', 'Approved by'],
});

const STATES = { pending: 'axStPending', approved: 'axStApproved', denied: 'axStDenied', revoked: 'axStRevoked',
  lapsed: 'axStLapsed', expired: 'axStExpired' };
const scope = (s) => t(s === 'files:read' ? 'axScopeFiles' : 'axScopeAudit') + ` (${s})`;

async function act(view, id, what) {
  const r = await api('POST', `/api/v1/access-requests/${id}/${what}`);
  if (!r.ok) return say(reason(r));
  await access(view);
  say(t('axDone'));
}

async function detail(box, id) {
  const r = await api('GET', `/api/v1/access-requests/${id}`);
  if (!r.ok) return say(reason(r));
  const d = r.data;
  const rows = d.events.map((e) => h('tr', {}, h('td', {}, fmtTime(e.time)), h('td', {}, e.action),
    h('td', {}, (e.details && (e.details.path || e.details.name)) || e.target)));
  box.replaceChildren(h('h3', { id: `ax-d-${id}`, tabindex: -1 }, t('axReads'), ` (${id})`),
    h('p', {}, t('axApprovedBy'), ': ', d.approved_by.length ? d.approved_by.map((a) => a.login).join(', ') : '—'),
    rows.length ? table([t('axTime'), t('axAction'), t('axWhat')], rows) : h('p', {}, t('axNoReads')));
  box.querySelector('h3').focus();
}

export async function access(view) {
  const [list, pol] = await Promise.all([api('GET', '/api/v1/access-requests'), api('GET', '/api/v1/access-policy')]);
  if (!list.ok) return say(reason(list));
  const reqs = list.data.requests;
  const box = h('div', { id: 'ax-detail' });
  const live = reqs.filter((r) => r.emergency && r.active);
  const rows = reqs.map((r) => {
    const buttons = [];
    if (r.state === 'pending') {
      buttons.push(h('button', { type: 'button', 'aria-label': `${t('axApprove')} (${t('axId')} ${r.id})`, onclick: () => act(view, r.id, 'approve') }, t('axApprove')));
      buttons.push(h('button', { type: 'button', class: 'danger', 'aria-label': `${t('axDeny')} (${t('axId')} ${r.id})`, onclick: () => act(view, r.id, 'deny') }, t('axDeny')));
    }
    if (r.state === 'approved' || r.state === 'pending')
      buttons.push(h('button', { type: 'button', class: 'danger', 'aria-label': `${t('axRevoke')} (${t('axId')} ${r.id})`, onclick: () => act(view, r.id, 'revoke') }, t('axRevoke')));
    buttons.push(h('button', { type: 'button', class: 'plain', 'aria-label': `${t('axDetail')} (${t('axId')} ${r.id})`, onclick: () => detail(box, r.id) }, t('axDetail')));
    return h('article', { class: 'access-req', 'data-id': r.id, 'aria-labelledby': `ax-r-${r.id}` },
      h('h3', { id: `ax-r-${r.id}` }, `${t('axId')} ${r.id} · ${r.case}`, r.emergency ? [' · ', h('strong', {}, t('axEmergencyMark'))] : ''),
      h('dl', {}, [
        [t('axState'), h('span', { class: 'ax-state' }, t(STATES[r.state] || r.state))],
        [t('axReason'), r.reason], [t('axOperator'), h('bdi', {}, r.operator)], [t('axScope'), scope(r.scope)],
        [t('axHours'), String(r.hours)], [t('axApprovals'), `${r.approvals}/${r.approvals_required}`],
        [t('axAsked'), fmtTime(r.created_at)], [t('axEnds'), fmtTime(r.ends_at)],
      ].map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
      h('div', { class: 'actions' }, buttons));
  });
  const sel = h('select', { id: 'ax-policy' }, h('option', { value: '1' }, t('axOne')), h('option', { value: '2' }, t('axTwo')));
  if (pol.ok) sel.value = String(pol.data.approvals_required);
  const form = h('form', { onsubmit: async (ev) => {
    ev.preventDefault();
    const r = await api('PATCH', '/api/v1/access-policy', { approvals_required: Number(sel.value) });
    say(r.status === 202 ? t('axLowerAsked') : r.ok ? t('axDone') : reason(r));
  } }, h('label', { for: 'ax-policy' }, t('axPolicy')), ' ', sel, ' ', h('button', { type: 'submit' }, t('axSave')));
  view.replaceChildren(h('h1', {}, t('axTitle')), h('p', {}, t('axHelp')),
    live.length ? h('div', { class: 'warn', role: 'alert', id: 'ax-emergency' }, h('strong', {}, t('axEmergency')), ' ',
      t('axEmergencyText'), ' ', live.map((r) => `#${r.id} ${r.case} (${fmtTime(r.ends_at)})`).join(', ')) : '',
    h('section', { 'aria-labelledby': 'ax-reqs' }, h('h2', { id: 'ax-reqs' }, t('axRequests')),
      rows.length ? rows : h('p', {}, t('axNone')), box),
    h('section', { 'aria-labelledby': 'ax-pol' }, h('h2', { id: 'ax-pol' }, t('axPolicy')), h('p', {}, t('axPolicyHelp')), form));
}
