// The Notices page (/notices; issue 9, W4): the notices the tenant's managers posted to the
// caller, newest first, unread ones marked (opening one records its first reading: who,
// when); the navigation shows the unread count. Managers also post notices (to all users or
// a list of login IDs) and see, per notice, who read it and when, with the list as CSV
// (the article-view log). docs/reports.md.
import { api, btn, fmtTime, h, reason, say, strings, t, table } from './ui.js';

strings({
  navNotices: ['社内のお知らせ', 'Notices'],
  nTitle: ['社内のお知らせ', 'Notices'], nNone: ['お知らせはありません。', 'No notices.'],
  nUnread: ['未読', 'unread'], nRead: ['既読', 'read'], nPosted: ['掲載', 'Posted'],
  nUnreadCount: [' 件の未読', ' unread'],
  nCompose: ['お知らせを掲載', 'Post a notice'], nSubject: ['件名', 'Title'], nBody: ['本文', 'Text'],
  nTo: ['宛先', 'To'], nToAll: ['全ユーザー', 'All users'], nToSome: ['指定したユーザー', 'These users'],
  nLogins: ['ログイン ID (カンマ区切り)', 'Login IDs (comma-separated)'], nPost: ['掲載する', 'Post'],
  nPostedOk: ['掲載しました。', 'Posted.'], nManage: ['掲載したお知らせと既読', 'Posted notices and who read them'],
  nReaders: ['既読', 'Read by'], nWhoRead: ['既読者を表示', 'Who read it'], nCsv: ['CSV をダウンロード', 'Download CSV'],
  nLogin: ['ログイン ID', 'Login ID'], nReadAt: ['最初に読んだ日時', 'First read'], nNobody: ['まだ誰も読んでいません。', 'Nobody has read it yet.'],
  nOpenHint: ['件名を開くと既読として記録されます。', 'Opening a notice records that you read it.'],
});

const section = (id, title, ...kids) => h('section', { 'aria-labelledby': id }, h('h2', { id }, title), ...kids);

// The unread count beside the navigation's link.
export async function noticeBadge() {
  const a = document.querySelector('#nav a[href="/notices"]');
  if (!a) return;
  const r = await api('GET', '/api/v1/notices');
  let b = a.querySelector('.badge');
  if (!r.ok || !r.data.unread) { if (b) b.remove(); return; }
  if (!b) { b = h('span', { class: 'badge' }); a.append(' ', b); }
  b.replaceChildren(String(r.data.unread), h('span', { class: 'visually-hidden' }, t('nUnreadCount')));
}

async function mine(el) {
  const r = await api('GET', '/api/v1/notices');
  if (!r.ok) return say(reason(r));
  const items = r.data.notices.map((n) => {
    const state = h('span', { class: n.read ? 'tag' : 'tag unread' }, t(n.read ? 'nRead' : 'nUnread'));
    const d = h('details', { class: 'notice-item' }, h('summary', {}, h('bdi', {}, n.title), ' ', state),
      h('p', { class: 'muted' }, `${t('nPosted')}: ${fmtTime(n.posted_at)} · `, h('bdi', {}, n.posted_by)),
      h('p', { class: 'body' }, n.body));
    d.addEventListener('toggle', async () => {
      if (!d.open || n.read) return;
      const s = await api('POST', `/api/v1/notices/${n.id}/read`);
      if (!s.ok) return say(reason(s));
      n.read = true;
      state.className = 'tag';
      state.textContent = t('nRead');
      noticeBadge();
    });
    return h('li', {}, d);
  });
  el.append(h('h1', {}, t('nTitle')), h('p', { class: 'hint' }, t('nOpenHint')),
    items.length ? h('ul', { class: 'notices', id: 'my-notices' }, items) : h('p', {}, t('nNone')));
}

function compose(el, after) {
  const title = h('input', { id: 'n-title', required: true, maxlength: 200, autocomplete: 'off' });
  const body = h('textarea', { id: 'n-body', required: true, rows: 4, maxlength: 10000 });
  const all = h('input', { type: 'radio', name: 'n-to', value: 'all', checked: true });
  const some = h('input', { type: 'radio', name: 'n-to', value: 'some' });
  const logins = h('input', { id: 'n-logins', autocomplete: 'off' });
  el.append(section('n-compose', t('nCompose'), h('form', { id: 'notice-form', onsubmit: async (ev) => {
    ev.preventDefault();
    const b = { title: title.value, body: body.value.replace(/\r\n?/g, '\n') };
    if (some.checked) b.to = logins.value.split(',').map((x) => x.trim()).filter(Boolean);
    const r = await api('POST', '/api/v1/notices', b);
    if (!r.ok) return say(reason(r));
    await after();
    say(t('nPostedOk'));
  } }, h('label', {}, t('nSubject'), title), h('label', {}, t('nBody'), body),
  h('fieldset', {}, h('legend', {}, t('nTo')), h('label', { class: 'check' }, all, ' ', t('nToAll')),
    h('label', { class: 'check' }, some, ' ', t('nToSome')), h('label', {}, t('nLogins'), logins)),
  h('button', { type: 'submit' }, t('nPost')))));
}

async function posted(el) {
  const r = await api('GET', '/api/v1/notices/posted');
  if (!r.ok) return say(reason(r));
  const out = h('div', { id: 'n-reads', 'aria-live': 'polite' });
  const rows = r.data.notices.map((n) => h('tr', {}, h('td', {}, h('bdi', {}, n.title)),
    h('td', {}, n.to === 'all' ? t('nToAll') : n.to.join(', ')), h('td', {}, fmtTime(n.posted_at)),
    h('td', {}, `${n.readers} / ${n.recipients}`),
    h('td', {}, btn(t('nWhoRead'), async () => {
      const s = await api('GET', `/api/v1/notices/${n.id}/reads`);
      if (!s.ok) return say(reason(s));
      out.replaceChildren(h('h3', { tabindex: -1 }, h('bdi', {}, n.title)),
        s.data.reads.length ? table([t('nLogin'), t('nReadAt')], s.data.reads.map((x) =>
          h('tr', {}, h('td', {}, h('bdi', {}, x.login)), h('td', {}, fmtTime(x.read_at))))) : h('p', {}, t('nNobody')),
        h('p', {}, h('a', { href: `/api/v1/notices/${n.id}/reads?format=csv`, download: `notice-${n.id}-reads.csv` }, t('nCsv'))));
      out.querySelector('h3').focus();
    }, 'secondary'))));
  el.append(section('n-posted', t('nManage'), rows.length
    ? table([t('nSubject'), t('nTo'), t('nPosted'), t('nReaders'), t('nWhoRead')], rows) : h('p', {}, t('nNone')), out));
}

export async function notices(el, ctx) {
  const draw = async () => {
    el.replaceChildren();
    await mine(el);
    if (ctx && ctx.manager) {
      compose(el, draw);
      await posted(el);
    }
    noticeBadge();
  };
  await draw();
}
