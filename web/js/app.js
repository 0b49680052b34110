// The portal's shell (app.html at /files, /shares, /account and the managers' pages): who is
// logged in, the language switch, logout, the navigation, and the view of the path.
// An ended session goes to /login?next=<this page> (ui.js toLogin).
import { api, h, lang, say, setLang, setZone, t, zone } from './ui.js';
import { files, trash } from './files.js';
import { shares } from './shares.js';
import { account } from './account.js';
import { accounts, logs, security } from './manage.js';
import { contract } from './contract.js';
import { announceBadge, announcements, contacts } from './announce.js';
import { access } from './access.js';
import { reports } from './reports.js';
import { noticeBadge, notices } from './notices.js';
import { compliance } from './compliance.js';

const views = { '/files': files, '/trash': trash, '/shares': shares, '/account': account,
  '/accounts': accounts, '/security': security, '/logs': logs, '/contract': contract,
  '/announcements': announcements, '/contacts': contacts, '/access': access,
  '/reports': reports, '/notices': notices, '/compliance': compliance };

function texts() {
  document.documentElement.lang = lang;
  for (const e of document.querySelectorAll('[data-t]')) e.textContent = t(e.dataset.t);
  document.getElementById('nav').setAttribute('aria-label', t('menu'));
  const l = document.getElementById('lang');
  l.textContent = t('other');
  l.lang = lang === 'en' ? 'ja' : 'en';
}

async function main() {
  texts();
  const me = await api('GET', '/api/v1/me');
  if (!me.ok) return say(t('sessionEnded'));
  const manager = me.data.role === 'manager';
  const tenant = manager ? await api('GET', '/api/v1/tenant') : null;
  if (tenant && tenant.ok && tenant.data.time_zone) setZone(tenant.data.time_zone);
  else {
    const p = await api('GET', '/api/v1/provider');
    if (p.ok && p.data.time_zone) setZone(p.data.time_zone);
  }
  const who = document.getElementById('who');
  const paint = () => {
    texts();
    who.replaceChildren(h('span', { class: 'tenant' }, me.data.tenant.name || me.data.tenant.code), ' · ',
      h('bdi', {}, me.data.display_name || me.data.login), ' (', t(me.data.role), ') · ',
      h('span', { class: 'zone' }, t('zone') + zone));
  };
  for (const a of document.querySelectorAll('.mgr')) a.hidden = !manager;
  const path = location.pathname;
  for (const a of document.querySelectorAll('#nav a'))
    if (a.getAttribute('href') === path || (path === '/trash' && a.getAttribute('href') === '/files'))
      a.setAttribute('aria-current', 'page');
  // on a narrow screen the menu is one scrolling line (kura.css): show where the user is
  const current = document.querySelector('#nav a[aria-current="page"]');
  if (current) {
    const nav = document.getElementById('nav');
    nav.scrollLeft = Math.max(0, current.offsetLeft - nav.offsetLeft - 16);
  }
  const view = views[path] || files;
  const el = document.getElementById('view');
  const draw = async () => {
    paint();
    el.replaceChildren();
    say('');
    await view(el, { me: me.data, manager });
    noticeBadge().catch(() => {});
  };
  document.getElementById('lang').addEventListener('click', () => {
    setLang(lang === 'en' ? 'ja' : 'en');
    draw();
  });
  document.getElementById('logout').addEventListener('click', async () => {
    await api('DELETE', '/api/v1/session');
    sessionStorage.removeItem('kura_csrf');
    location.assign('/login');
  });
  await draw();
  await announceBadge();
  document.body.dataset.ready = '1';
}

main().catch((e) => { if (e.message !== 'session ended') say(String(e)); });
