// Share-link page: unlock with the password if needed, then list and download, or upload.
// Names come from other people: they go into the page with textContent only.
import { $, T, api, pathToken, put, reason, say } from './kura.js';

const path = '/api/v1/links/' + encodeURIComponent(pathToken());

const size = (n) => n < 1024 ? n + ' B' : n < 1048576 ? (n / 1024).toFixed(1) + ' KiB'
  : (n / 1048576).toFixed(1) + ' MiB';

function entry(name, bytes, href) {
  const li = document.createElement('li');
  const a = document.createElement('a');
  a.textContent = name;
  a.href = href;
  li.append(a, ' (' + size(bytes) + ')');
  $('list').append(li);
}

async function load() {
  const r = await api('GET', path);
  if (r.status === 410) {
    say(T.linkGone);
    return;
  }
  if (!r.ok) {
    say(T.linkInvalid);
    return;
  }
  const info = r.data;
  if (info.password_required && !info.unlocked) {
    $('unlock').hidden = false;
    $('pw').focus();
    return;
  }
  $('unlock').hidden = true;
  $('expires').textContent = '有効期限 / Valid until: ' + new Date(info.expires_at).toLocaleString();
  $('item').hidden = false;
  if (info.kind === 'upload') {
    $('what').textContent = 'フォルダ「' + info.item.name + '」へのアップロード / Upload into "' + info.item.name + '"';
    $('upload').hidden = false;
    return;
  }
  $('what').textContent = info.item.name + (info.item.kind === 'file' ? ' (' + size(info.item.size) + ')' : '');
  $('list').replaceChildren();
  if (info.item.kind === 'file') entry(info.item.name, info.item.size, path + '/content');
  for (const it of info.items || [])
    if (it.kind === 'file') entry(it.name, it.size, path + '/files/' + it.id + '/content');
}

$('unlock').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const r = await api('POST', path + '/unlock', { password: $('pw').value });
  if (r.status === 429) {
    say(T.linkLocked);
    return;
  }
  if (!r.ok) {
    say(T.linkPasswordWrong);
    return;
  }
  say();
  load();
});

$('upload').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  for (const f of $('files').files) {
    const r = await put(path + '/upload/' + encodeURIComponent(f.name), f);
    if (!r.ok) {
      say(T.uploadFailed, reason(r));
      return;
    }
    const li = document.createElement('li');
    li.textContent = r.data.name + ' (' + size(r.data.size) + ')';
    $('list').append(li);
  }
  say(T.uploaded);
});

load();
