// The Compliance statement page (/compliance, managers; A1, A2, A5, docs/compliance.md): the
// statement the deployment generates for this tenant's services, each row of the control
// catalog in kura's own words with the evidence read from the running system (setting in
// force, count, the audit chain verified now) and where each value was read; what cannot be
// shown is marked "no evidence". The same statement downloads as one HTML document (the
// provider's published form) or as JSON. Data from GET /api/v1/compliance, put into the page
// with the DOM only.
import { api, fmtTime, h, lang, reason, say, strings, t, table } from './ui.js';

strings({
  navCompliance: ['セキュリティ・ステートメント', 'Security statement'],
  coTitle: ['セキュリティ・ステートメント', 'Security statement'],
  coHelp: ['稼働中のシステムの設定と記録から生成した、ご契約のサービスについての情報セキュリティの説明です。各項目に、裏付けとなる証跡とその出典を示します。示せない事項は「証跡なし」と表示します。',
    "How your contracted services are secured, generated from the running system's settings and records. Each row shows the evidence behind it and where it was read; what cannot be shown is marked \"no evidence\"."],
  coDownload: ['HTML でダウンロード', 'Download as HTML'], coDownloadJson: ['JSON でダウンロード', 'Download as JSON'],
  coGenerated: ['生成日時', 'Generated'], coServices: ['対象サービス', 'Services covered'],
  coSummary: ['概要', 'Summary'],
  coEvidenced: ['証跡あり', 'evidenced'], coPartial: ['一部に証跡', 'partly evidenced'], coNone: ['証跡なし', 'no evidence'],
  coItem: ['項目', 'Item'], coValue: ['値', 'Value'], coSource: ['出典', 'Source'],
  coMissing: ['証跡なし: ', 'No evidence: '], coClause: ['関連する箇条: ', 'Related clauses: '],
  coProvider: ['事業者', 'Provider'], coContents: ['目次', 'Contents'],
});

const STATUS = { evidenced: 'coEvidenced', partial: 'coPartial', none: 'coNone' };
const GROUPS = [['A', '方針、組織、責任', 'Policy, organization, responsibility'], ['B', '資産、ラベル、削除', 'Assets, labelling, removal'],
  ['C', 'アクセス制御', 'Access control'], ['D', '分離と堅牢化', 'Segregation and hardening'], ['E', '暗号', 'Cryptography'],
  ['F', '運用', 'Operations'], ['G', '事故と証拠', 'Incidents and evidence'], ['W', '業務機能:安全なファイル交換', 'Workload: secure file exchange']];

const badge = (s) => h('span', { class: `co-status co-${s}` }, t(STATUS[s] || 'coNone'));

function control(c) {
  const rows = c.evidence.map((e) => h('tr', {}, h('th', { scope: 'row' }, e.item), h('td', {}, e.value),
    h('td', { class: 'muted' }, e.source)));
  return h('article', { class: 'co-control', id: `co-${c.id}`, 'data-id': c.id, 'data-status': c.status, 'aria-labelledby': `co-h-${c.id}` },
    h('h3', { id: `co-h-${c.id}` }, h('span', { class: 'co-id' }, c.id), ' ', c.title, ' ', badge(c.status)),
    c.clause !== '-' ? h('p', { class: 'muted' }, t('coClause'), c.clause) : null,
    h('p', {}, c.statement),
    rows.length ? table([t('coItem'), t('coValue'), t('coSource')], rows) : null,
    c.missing.length ? h('ul', { class: 'co-missing' }, c.missing.map((m) => h('li', {}, t('coMissing'), m))) : null);
}

export async function compliance(view) {
  const r = await api('GET', `/api/v1/compliance?lang=${lang === 'en' ? 'en' : 'ja'}&format=json`);
  if (!r.ok) return say(reason(r));
  const d = r.data;
  const count = (s) => d.controls.filter((c) => c.status === s).length;
  const ln = lang === 'en' ? 'en' : 'ja';
  view.append(h('h1', {}, t('coTitle')),
    h('p', { class: 'muted' }, t('coHelp')),
    h('p', { class: 'co-actions' },
      h('a', { class: 'button', id: 'co-download', href: `/api/v1/compliance?lang=${ln}&format=html`, download: '' }, t('coDownload')),
      ' ',
      h('a', { class: 'button plain', href: `/api/v1/compliance?lang=${ln}&format=json`, download: `kura-statement-${ln}.json` }, t('coDownloadJson'))),
    h('section', { 'aria-labelledby': 'co-summary' }, h('h2', { id: 'co-summary' }, t('coSummary')),
      h('dl', {},
        h('dt', {}, t('coProvider')), h('dd', {}, (d.provider && d.provider.name) || '—'),
        h('dt', {}, t('coServices')), h('dd', {}, d.services.map((s) => `${s.name} (${s.code})`).join(lang === 'en' ? ', ' : '、')),
        h('dt', {}, t('coGenerated')), h('dd', {}, fmtTime(d.generated_at))),
      h('p', { class: 'co-counts' }, badge('evidenced'), ` ${count('evidenced')}  `, badge('partial'), ` ${count('partial')}  `,
        badge('none'), ` ${count('none')}`)),
    h('nav', { 'aria-label': t('coContents'), class: 'co-toc' }, h('ul', {},
      GROUPS.map(([g, ja, en]) => h('li', {}, h('a', { href: `#co-g-${g}` }, `${g}. ${lang === 'en' ? en : ja}`))))),
    ...GROUPS.map(([g, ja, en]) => h('section', { 'aria-labelledby': `co-g-${g}` },
      h('h2', { id: `co-g-${g}` }, `${g}. ${lang === 'en' ? en : ja}`),
      d.controls.filter((c) => c.group === g).map(control))));
}
