// The portal's announcements view (/announcements): the incidents that affect the tenant,
// each with its whole timeline, and the provider's announcements, newest first, paged, the
// unread ones marked. Opening one records this account's first reading of its version
// (POST /api/v1/announcements/{id}/read: evidence that the notice reached the customer).
// announceBadge() keeps the unread count in the navigation. contacts() is the managers' page of
// the tenant's contacts (/contacts): each address gets a mailed link to confirm before any notice.
import { api, btn, field, fmtTime, h, lang, reason, say, strings, t, table } from './ui.js';
import { body } from './md.js';

strings({
  navAnnounce: ['お知らせ', 'Announcements'],
  annTitle: ['お知らせ', 'Announcements'],
  annFromProvider: ['提供者からのお知らせ', 'From the provider'],
  annNone: ['お知らせはありません。', 'No announcements.'],
  annUnread: ['未読', 'unread'],
  annUnreadCount: ['未読のお知らせ', 'unread announcements'],
  annEdited: ['更新あり', 'edited'],
  annWithdrawn: ['取り下げ', 'withdrawn'],
  annPublished: ['掲載', 'Published'],
  annUpdated: ['更新', 'Updated'],
  annWindow: ['期間', 'Window'],
  annReadAt: ['既読', 'Read'],
  annMore: ['さらに表示', 'Show more'],
  annReadFailed: ['既読にできませんでした: ', 'Could not record the reading: '],
  kindChange: ['変更', 'change'],
  kindMaintenance: ['メンテナンス', 'maintenance'],
  kindIncident: ['障害', 'incident'],
  incTitle: ['影響のある障害', 'Incidents affecting you'],
  incNone: ['影響のある障害はありません。', 'No incident affects you.'],
  incSeverity: ['重大度', 'Severity'],
  incServices: ['サービス', 'Services'],
  incStatusPage: ['稼働状況のページ', 'Status page'],
  investigating: ['調査中', 'investigating'],
  identified: ['原因特定', 'identified'],
  monitoring: ['経過観察', 'monitoring'],
  resolved: ['解決', 'resolved'],
  minor: ['軽微', 'minor'],
  major: ['重大', 'major'],
  critical: ['致命的', 'critical'],
  navContacts: ['連絡先', 'Contacts'],
  ctTitle: ['連絡先', 'Contacts'],
  ctIntro: ['問合せ窓口と通知先です。登録したアドレスに確認のリンクが届き、確認されるまでお知らせは送られません。',
    'The tenant\'s contact and notification addresses. Each gets a link to confirm; until then it receives no notices.'],
  ctAdd: ['連絡先の追加', 'Add a contact'],
  ctName: ['名前', 'Name'],
  ctEmail: ['メールアドレス', 'E-mail'],
  ctRole: ['役割', 'Role'],
  ctState: ['状態', 'State'],
  ctAdded: ['登録しました。確認のメールを送りました。', 'Added; a confirmation mail was sent.'],
  ctRemoved: ['削除しました。', 'Removed.'],
  ctRefused: ['できませんでした: ', 'Refused: '],
  ctConfirmed: ['確認済み', 'confirmed'],
  ctPending: ['確認待ち', 'waiting for confirmation'],
  ctRemove: ['削除', 'Remove'],
  ctNone: ['連絡先はまだありません。', 'No contacts yet.'],
  ctActions: ['操作', 'Actions'],
  ctCreated: ['登録日時', 'Added'],
  roleSecurity: ['セキュリティ', 'security'],
  roleTechnical: ['技術', 'technical'],
  roleNotices: ['お知らせ', 'notices'],
});

const roleWord = (r) => t({ security: 'roleSecurity', technical: 'roleTechnical', notices: 'roleNotices' }[r] || r);

export async function contacts(el) {
  const body = h('tbody');
  const name = h('input', { id: 'ct-name', maxlength: 100, required: true, autocomplete: 'name' });
  const email = h('input', { id: 'ct-email', type: 'email', required: true, autocomplete: 'email' });
  const role = h('select', { id: 'ct-role' }, ['notices', 'security', 'technical'].map((r) => h('option', { value: r }, roleWord(r))));
  const load = async () => {
    const r = await api('GET', '/api/v1/contacts');
    if (!r.ok) return say(t('ctRefused'), reason(r));
    body.replaceChildren(...(r.data.items.length ? r.data.items.map((c) => h('tr', { 'data-id': c.id },
      h('td', {}, h('bdi', {}, c.name)), h('td', {}, c.email), h('td', {}, roleWord(c.role)),
      h('td', {}, c.confirmed ? `${t('ctConfirmed')} (${fmtTime(c.confirmed_at)})` : t('ctPending')),
      h('td', {}, fmtTime(c.created_at)),
      h('td', {}, btn(t('ctRemove'), async () => {
        const d = await api('DELETE', `/api/v1/contacts/${c.id}`);
        say(d.ok ? t('ctRemoved') : t('ctRefused'), d.ok ? undefined : reason(d));
        await load();
      }, 'danger')))) : [h('tr', {}, h('td', { colspan: 6 }, t('ctNone')))]));
  };
  const list = table([t('ctName'), t('ctEmail'), t('ctRole'), t('ctState'), t('ctCreated'), t('ctActions')], body);
  list.querySelector('table').classList.add('nowrap');   // scrolls sideways on a phone
  el.append(h('h1', {}, t('ctTitle')), h('p', {}, t('ctIntro')),
    h('section', { 'aria-labelledby': 'ct-add-h' }, h('h2', { id: 'ct-add-h' }, t('ctAdd')),
      h('form', { id: 'contact-form', class: 'grid', onsubmit: async (ev) => {
        ev.preventDefault();
        const r = await api('POST', '/api/v1/contacts', { name: name.value, email: email.value, role: role.value });
        say(r.ok ? t('ctAdded') : t('ctRefused'), r.ok ? undefined : reason(r));
        if (r.ok) { name.value = email.value = ''; await load(); }
      } }, field(t('ctName'), name), field(t('ctEmail'), email), field(t('ctRole'), role),
      h('button', { type: 'submit' }, t('ctAdd')))),
    list);
  await load();
}

const kindWord = (k) => t({ change: 'kindChange', maintenance: 'kindMaintenance', incident: 'kindIncident' }[k] || k);
const pick = (o, base) => (lang === 'en' ? o[base + '_en'] : o[base + '_ja']);

// The navigation's unread count (a badge beside "Announcements").
export async function announceBadge(count) {
  const b = document.getElementById('announce-badge');
  if (!b) return;
  let n = count;
  if (n === undefined) {
    const r = await api('GET', '/api/v1/announcements?limit=1');
    n = r.ok ? r.data.unread : 0;
  }
  b.replaceChildren(String(n), h('span', { class: 'visually-hidden' }, ' ' + t('annUnreadCount')));
  b.hidden = !n;
}

function timeline(items) {
  return h('ol', { class: 'timeline' }, items.map((u) => h('li', {},
    h('p', { class: 'meta' }, h('strong', {}, t(u.status)), ' · ', h('time', { datetime: u.at }, fmtTime(u.at))),
    body(pick(u, 'body')))));
}

function incident(i) {
  return h('article', { class: 'notice incident', id: `incident-${i.id}` },
    h('h3', {}, pick(i, 'title'), ' ', h('span', { class: `tag st-${i.status}` }, t(i.status))),
    h('p', { class: 'meta' }, `${t('incSeverity')}: ${t(i.severity)} · ${t('incServices')}: ${(i.services || []).join(', ')}`),
    timeline(i.timeline || []));
}

function announcement(a, onRead) {
  const summary = h('summary', {},
    h('span', { class: 'title' }, pick(a, 'title')), ' ',
    h('span', { class: 'tag' }, kindWord(a.kind)),
    a.unread ? h('span', { class: 'tag unread-tag' }, t('annUnread')) : null,
    a.edited ? h('span', { class: 'tag' }, t('annEdited')) : null,
    a.withdrawn ? h('span', { class: 'tag' }, t('annWithdrawn')) : null);
  const meta = h('p', { class: 'meta' },
    `${t('annPublished')}: ${fmtTime(a.published_at)}`,
    a.edited ? ` · ${t('annUpdated')}: ${fmtTime(a.updated_at)}` : '',
    a.from ? ` · ${t('annWindow')}: ${fmtTime(a.from)} – ${fmtTime(a.until)}` : '',
    a.read_at ? ` · ${t('annReadAt')}: ${fmtTime(a.read_at)}` : '');
  const d = h('details', { class: 'notice' + (a.unread ? ' unread' : ''), 'data-id': a.id }, summary, meta, body(pick(a, 'body')));
  d.addEventListener('toggle', () => { if (d.open && a.unread) onRead(a, d); });
  return d;
}

export async function announcements(el) {
  el.append(h('h1', {}, t('annTitle')));
  const inc = await api('GET', '/api/v1/incidents');
  if (inc.ok && inc.data.items.length) {
    el.append(h('section', { 'aria-labelledby': 'inc-h' }, h('h2', { id: 'inc-h' }, t('incTitle')),
      inc.data.items.map(incident), h('p', {}, h('a', { href: '/status' }, t('incStatusPage')))));
  }
  const list = h('div', { id: 'announce-list' });
  const section = h('section', { 'aria-labelledby': 'ann-h' }, h('h2', { id: 'ann-h' }, t('annFromProvider')), list);
  el.append(section);
  const onRead = async (a, d) => {
    const r = await api('POST', `/api/v1/announcements/${a.id}/read`);
    if (!r.ok) return say(t('annReadFailed'), reason(r));
    a.unread = false;
    d.classList.remove('unread');
    d.querySelector('.unread-tag')?.remove();
    await announceBadge();
  };
  let before = 0;
  const more = btn(t('annMore'), () => page());
  more.hidden = true;
  section.append(more);
  const page = async () => {
    const r = await api('GET', '/api/v1/announcements?limit=20' + (before ? `&before=${before}` : ''));
    if (!r.ok) return say(reason(r));
    if (!before && !r.data.items.length) list.append(h('p', {}, t('annNone')));
    list.append(...r.data.items.map((a) => announcement(a, onRead)));
    before = r.data.next_before || 0;
    more.hidden = !r.data.more;
    await announceBadge(r.data.unread);
  };
  await page();
}
