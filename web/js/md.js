// The bodies of announcements and incidents: the server sends the structure of its Markdown
// subset (src/notice/markdown.c: paragraphs, lists, text runs with em / strong / code, links),
// and this module turns it into DOM nodes. Text goes in as text nodes (h() never parses HTML);
// a link is made only for an absolute http(s) address (the server allows no other), opened
// with rel="noopener noreferrer".
import { h } from './ui.js';

const safeHref = (u) => typeof u === 'string' && /^https?:\/\/[^\s"'<>\\`]+$/i.test(u);

function runs(list) {
  return (Array.isArray(list) ? list : []).map((r) => {
    const text = typeof r.text === 'string' ? r.text : '';
    if (r.href !== undefined)
      return safeHref(r.href) ? h('a', { href: r.href, rel: 'noopener noreferrer', target: '_blank' }, text) : text;
    if (r.strong) return h('strong', {}, text);
    if (r.em) return h('em', {}, text);
    if (r.code) return h('code', {}, text);
    return text;
  });
}

export function body(blocks) {
  const out = h('div', { class: 'md' });
  for (const b of Array.isArray(blocks) ? blocks : []) {
    if (b.type === 'p') out.append(h('p', {}, runs(b.inline)));
    else if (b.type === 'ul' || b.type === 'ol')
      out.append(h(b.type, {}, (Array.isArray(b.items) ? b.items : []).map((i) => h('li', {}, runs(i)))));
  }
  return out;
}
