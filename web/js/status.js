// The public status page (/status): each service's state and the incidents with their
// timelines, from GET /api/v1/service-status (no session; services only, never a tenant).
// Bodies are the server's structure of the Markdown subset, turned into DOM nodes (md.js).
import { fmtTime, h, lang, setLang, strings, t } from './ui.js';
import { body } from './md.js';

strings({
  stTitle: ['稼働状況', 'Service status'],
  stComponents: ['サービス', 'Services'],
  stIncidents: ['障害', 'Incidents'],
  stFeed: ['Atom フィード', 'Atom feed'],
  stService: ['サービス', 'Service'],
  stState: ['状態', 'State'],
  stNone: ['最近の障害はありません。', 'No recent incidents.'],
  stFailed: ['状況を読み込めませんでした。', 'The status could not be loaded.'],
  stSeverity: ['重大度', 'Severity'],
  operational: ['正常', 'operational'],
  degraded: ['一部に影響', 'degraded'],
  partial_outage: ['部分的な停止', 'partial outage'],
  major_outage: ['大規模な停止', 'major outage'],
  stInvestigating: ['調査中', 'investigating'],
  stIdentified: ['原因特定', 'identified'],
  stMonitoring: ['経過観察', 'monitoring'],
  stResolved: ['解決', 'resolved'],
  stMinor: ['軽微', 'minor'],
  stMajor: ['重大', 'major'],
  stCritical: ['致命的', 'critical'],
  otherLang: ['English', '日本語'],
});

const word = (w) => t('st' + w.charAt(0).toUpperCase() + w.slice(1));
const pick = (o, base) => (lang === 'en' ? o[base + '_en'] : o[base + '_ja']);
let data = null;

function paint() {
  document.documentElement.lang = lang;
  document.title = 'kura — ' + t('stTitle');
  document.getElementById('title').textContent = t('stTitle');
  for (const e of document.querySelectorAll('[data-t]')) e.textContent = t(e.dataset.t);
  const l = document.getElementById('lang');
  l.textContent = t('otherLang');
  l.lang = lang === 'en' ? 'ja' : 'en';
  const comp = document.getElementById('components');
  const inc = document.getElementById('incidents');
  if (!data) return;
  comp.replaceChildren(h('div', { class: 'scroll', tabindex: 0 }, h('table', { class: 'components' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('stService')), h('th', { scope: 'col' }, t('stState')))),
    h('tbody', {}, data.components.map((c) => h('tr', {}, h('td', {}, c.service),
      h('td', { class: `state ${c.status}` }, t(c.status))))))));
  inc.replaceChildren(...(data.incidents.length ? data.incidents.map((i) => h('article', { class: 'notice', id: `incident-${i.id}` },
    h('h3', {}, pick(i, 'title'), ' ', h('span', { class: 'tag' }, word(i.status))),
    h('p', { class: 'meta' }, `${t('stSeverity')}: ${word(i.severity)} · ${(i.services || []).join(', ')}`),
    h('ol', { class: 'timeline' }, (i.timeline || []).map((u) => h('li', {},
      h('p', { class: 'meta' }, h('strong', {}, word(u.status)), ' · ', h('time', { datetime: u.at }, fmtTime(u.at))),
      body(pick(u, 'body'))))))) : [h('p', {}, t('stNone'))]));
}

async function main() {
  document.getElementById('lang').addEventListener('click', () => {
    setLang(lang === 'en' ? 'ja' : 'en');
    paint();
  });
  const r = await fetch('/api/v1/service-status', { credentials: 'omit' });
  if (r.ok) data = await r.json();
  else document.getElementById('msg').textContent = t('stFailed');
  paint();
  document.body.dataset.ready = '1';
}

main();
