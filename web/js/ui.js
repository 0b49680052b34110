// The portal's helpers: the language (Japanese by default, English by a remembered switch or
// the browser's first language on the first visit), the text of every portal string in both
// languages, times in the tenant's zone with the zone named, DOM building, and the API with a
// return to the login page (and back) when the session has ended.
//
// SECURITY: every value from the server or from other people goes into the page as a text
// node (h() below never parses HTML). localStorage keeps the language choice only; the CSRF
// token stays in sessionStorage (kura.js).
import { api as rawApi } from './kura.js';

const S = {
  skip: ['本文へ', 'Skip to content'],
  licence: ['tus-js-client のライセンス (MIT)', 'tus-js-client licence (MIT)'],
  logout: ['ログアウト', 'Log out'],
  navFiles: ['ファイル', 'Files'], navShares: ['共有', 'Shares'], navAccount: ['アカウント', 'My account'],
  navAccounts: ['ユーザー', 'Accounts'], navSecurity: ['セキュリティ', 'Security'], navLogs: ['ログ', 'Logs'],
  navContract: ['契約', 'Contract'], menu: ['メニュー', 'Menu'],
  other: ['English', '日本語'],
  manager: ['管理者', 'manager'], user: ['ユーザー', 'user'],
  zone: ['時刻の表示: ', 'Times in '], timeZone: ['タイムゾーン', 'Time zone'],
  recipientsMail: ['送信先とメールの状態', 'Recipients and their mail'], show: ['表示', 'Show'],
  files: ['ファイル', 'Files'], root: ['ルート', 'Root'], crumbs: ['現在の場所', 'Location'],
  newFolder: ['新しいフォルダー', 'New folder'], create: ['作成', 'Create'], upload: ['アップロード', 'Upload'],
  chooseFiles: ['ファイルを選択', 'Choose files'], dropHere: ['ここにファイルをドロップ', 'Drop files here'],
  name: ['名前', 'Name'], size: ['サイズ', 'Size'], modified: ['更新日時', 'Modified'], labels: ['ラベル', 'Labels'],
  type: ['種類', 'Type'], uploader: ['アップロードした人', 'Uploaded by'], kind: ['種別', 'Kind'],
  folder: ['フォルダー', 'Folder'], file: ['ファイル', 'File'], empty: ['空です。', 'Empty.'],
  sortBy: ['並べ替え', 'Sort by'], filterLabel: ['ラベルで絞り込み', 'Filter by label'], all: ['すべて', 'All'],
  search: ['検索', 'Search'], searchName: ['名前で検索', 'Search by name'],
  details: ['詳細', 'Details'], download: ['ダウンロード', 'Download'], downloadZip: ['ZIP でダウンロード', 'Download as ZIP'],
  rename: ['名前を変更', 'Rename'], move: ['移動', 'Move'], moveTo: ['移動先', 'Move to'], del: ['削除', 'Delete'],
  toTrash: ['ごみ箱へ移動', 'Move to trash'], share: ['共有', 'Share'], close: ['閉じる', 'Close'],
  addLabel: ['ラベルを追加', 'Add label'], add: ['追加', 'Add'], removeLabel: ['ラベルを外す: ', 'Remove label: '],
  trash: ['ごみ箱', 'Trash'], restore: ['元に戻す', 'Restore'], purge: ['完全に削除', 'Delete for good'],
  trashedAt: ['削除日時', 'Deleted'], purgeAfter: ['自動削除', 'Purged after'], retention: ['保存期間 (日): ', 'Kept for (days): '],
  back: ['戻る', 'Back'], parent: ['上のフォルダー', 'Parent folder'], more: ['さらに読み込む', 'Load more'],
  progress: ['進捗', 'Progress'], overall: ['全体', 'Overall'], cancel: ['キャンセル', 'Cancel'],
  cancelAll: ['すべてキャンセル', 'Cancel all'], canceled: ['キャンセルしました', 'canceled'],
  done: ['完了', 'done'], failed: ['失敗', 'failed'], uploading: ['アップロード中', 'Uploading'],
  saved: ['保存しました。', 'Saved.'], refused: ['できませんでした: ', 'Not done: '],
  created: ['作成しました。', 'Created.'], deleted: ['削除しました。', 'Deleted.'],
  restored: ['元に戻しました。', 'Restored.'], moved: ['移動しました。', 'Moved.'], renamed: ['名前を変更しました。', 'Renamed.'],
  items: [' 件', ' items'],
  shareTitle: ['共有リンクを作成', 'Create a share link'], shareOf: ['対象: ', 'Item: '],
  linkKind: ['リンクの種類', 'Link kind'], kindDownload: ['ダウンロード用', 'Download'], kindUpload: ['アップロード依頼', 'Upload request'],
  password: ['パスワード', 'Password'], optionalPw: ['パスワード (任意, 12 文字以上)', 'Password (optional, 12+ characters)'],
  expiryDays: ['有効期限 (日)', 'Expires in (days)'], maxDownloads: ['ダウンロード回数の上限 (任意)', 'Download limit (optional)'],
  recipients: ['送信先のメールアドレス (任意, 改行またはカンマ区切り)', "Recipients' addresses (optional, one per line or comma)"],
  createLink: ['リンクを作成', 'Create link'], linkMade: ['リンクを作成しました。このアドレスは今だけ表示されます:', 'Link created. This address is shown only now:'],
  myShares: ['共有リンク', 'Share links'], allShares: ['テナントのすべてのリンク', "All of the tenant's links"],
  state: ['状態', 'State'], downloads: ['ダウンロード数', 'Downloads'], expires: ['有効期限', 'Expires'],
  createdAt: ['作成日時', 'Created'], createdBy: ['作成者', 'Created by'], revoke: ['取り消す', 'Revoke'], revoked: ['取り消しました。', 'Revoked.'],
  uploads: ['アップロード数', 'Uploads'], none: ['なし', 'none'], noLimit: ['上限なし', 'no limit'],
  account: ['アカウント', 'My account'], profile: ['プロフィール', 'Profile'], displayName: ['表示名', 'Display name'],
  email: ['メールアドレス', 'Email'], login: ['ログイン ID', 'Login'], role: ['役割', 'Role'], save: ['保存', 'Save'],
  changePw: ['パスワードの変更', 'Change password'], currentPw: ['現在のパスワード', 'Current password'],
  newPw: ['新しいパスワード (12 文字以上)', 'New password (12 characters or more)'], confirmPw: ['確認', 'Confirm'],
  pwDiffer: ['確認が一致しません。', 'The passwords differ.'], change: ['変更', 'Change'],
  mfa: ['2 段階認証', 'Second factors'], mfaManage: ['認証アプリ、セキュリティキー、リカバリーコードを管理', 'Manage the authenticator app, security keys and recovery codes'],
  appPw: ['アプリパスワード', 'App passwords'], appPwHelp: ['WebDAV クライアントや同期アプリ用のパスワードです。', 'Passwords for WebDAV clients and sync tools.'],
  scope: ['権限', 'Scope'], scopeRead: ['読み取りのみ', 'read only'], scopeRw: ['読み書き', 'read and write'],
  lastUsed: ['最終使用', 'Last used'], appPwShown: ['このパスワードは今だけ表示されます。', 'This password is shown only now.'],
  username: ['ユーザー名', 'User name'], howTo: ['接続のしかた', 'How to connect'],
  logins: ['サインイン履歴', 'Sign-in history'], time: ['日時', 'Time'], result: ['結果', 'Result'], address: ['アドレス', 'Address'],
  agent: ['ブラウザー', 'User agent'], reason: ['理由', 'Reason'], language: ['言語', 'Language'],
  accounts: ['ユーザー', 'Accounts'], invite: ['招待', 'Invite'], inviteTitle: ['ユーザーを招待', 'Invite a user'],
  status: ['状態', 'Status'], lastLogin: ['最終サインイン', 'Last sign-in'], locked: ['ロック', 'Locked'],
  mfaState: ['2 段階認証', 'MFA'], yes: ['はい', 'yes'], no: ['いいえ', 'no'], actions: ['操作', 'Actions'],
  suspend: ['停止', 'Suspend'], resume: ['再開', 'Resume'], unlock: ['ロック解除', 'Unlock'],
  forceReset: ['パスワードを再設定させる', 'Force password reset'], makeManager: ['管理者にする', 'Make manager'],
  makeUser: ['ユーザーにする', 'Make user'], confirmDelete: ['削除しますか: ', 'Delete? '], invited: ['招待しました。', 'Invited.'],
  security: ['セキュリティ', 'Security'], allowlist: ['IP アドレス制限', 'IP allowlist'],
  ranges: ['許可する範囲 (1 行に 1 つ, 空なら制限なし)', 'Allowed ranges (one per line; empty: no restriction)'],
  applyAll: ['ユーザーにも適用', 'Apply to users too'], yourAddress: ['あなたのアドレス: ', 'Your address: '],
  allowed: ['許可されています', 'allowed'], notAllowed: ['許可されていません', 'not allowed'],
  selfLockout: ['この一覧にはあなたのアドレスがありません。保存するとあなたはログインできなくなります: ', 'Your address is not in this list; saving it locks you out: '],
  saveAnyway: ['それでも保存', 'Save anyway'],
  lockout: ['ロックアウト', 'Lockout policy'], threshold: ['失敗回数', 'Failures'], window: ['期間 (秒)', 'Window (seconds)'],
  duration: ['ロック時間 (秒)', 'Lock duration (seconds)'],
  mfaPolicy: ['2 段階認証のポリシー', 'MFA policy'], managers: ['管理者', 'Managers'], users: ['ユーザー', 'Users'],
  required: ['必須', 'required'], optional: ['任意', 'optional'], off: ['使用しない', 'off'],
  sharePolicy: ['共有のポリシー', 'Share policy'], defaultExpiry: ['既定の有効期限 (日)', 'Default expiry (days)'],
  maxExpiry: ['最長の有効期限 (日)', 'Longest expiry (days)'],
  logs: ['ログ', 'Logs'], audit: ['監査ログ', 'Audit log'], from: ['開始', 'From'], to: ['終了', 'To'],
  category: ['分類', 'Category'], actor: ['操作した人', 'Actor'], action: ['操作', 'Action'], target: ['対象', 'Target'],
  filter: ['絞り込み', 'Filter'], next: ['次のページ', 'Next page'], first: ['最初のページ', 'First page'],
  exportTitle: ['ダウンロードと検証', 'Download and verify'], exportCsv: ['CSV をダウンロード', 'Download CSV'],
  exportJsonl: ['JSONL (署名付き) をダウンロード', 'Download JSONL (signed)'], publicKey: ['公開鍵', 'Public key'],
  verifySteps: ['オフラインでの検証: JSONL をダウンロードし、公開鍵を保存して、次を実行します。', 'To verify offline: download the JSONL, keep the public key, and run:'],
  mailLog: ['メール送信ログ', 'Mail delivery log'], recipient: ['宛先', 'Recipient'], subject: ['件名', 'Subject'],
  attempts: ['試行', 'Attempts'], sentAt: ['送信日時', 'Sent'], queuedAt: ['登録日時', 'Queued'],
  contract: ['契約', 'Contract'], tenantCode: ['テナントコード', 'Tenant code'], tenantName: ['テナント名', 'Tenant name'],
  services: ['サービス', 'Services'], options: ['オプション', 'Options'], quota: ['容量', 'Quota'], used: ['使用量', 'Used'],
  available: ['空き', 'Available'], provider: ['提供者', 'Provider'], contact: ['連絡先', 'Contact'],
  dataLocation: ['データの保管場所', 'Data location'], jurisdiction: ['準拠法', 'Jurisdiction'],
  sessionEnded: ['セッションが終了しました。', 'The session has ended.'], loading: ['読み込み中…', 'Loading…'],
  live: ['有効', 'live'], expired: ['期限切れ', 'expired'], revokedState: ['取り消し済み', 'revoked'],
  exhausted: ['上限到達', 'limit reached'], deletedState: ['削除済み', 'deleted'],
  active: ['有効', 'active'], invitedState: ['招待中', 'invited'], suspended: ['停止中', 'suspended'],
  success: ['成功', 'success'], failure: ['失敗', 'failure'], denied: ['拒否', 'denied'],
  queued: ['待機中', 'queued'], sent: ['送信済み', 'sent'], deferred: ['再試行待ち', 'deferred'], failedState: ['失敗', 'failed'],
  notFound: ['このページはありません。', 'No such page.'], forbidden: ['この操作はできません。', 'Not permitted.'],
};

const pick = () => {
  const saved = localStorage.getItem('kura_lang');
  if (saved === 'ja' || saved === 'en') return saved;
  const first = ((navigator.languages && navigator.languages[0]) || navigator.language || 'ja').toLowerCase();
  return first.startsWith('en') ? 'en' : 'ja';
};

export let lang = pick();
export const setLang = (l) => { localStorage.setItem('kura_lang', l); lang = l; };
export const t = (k) => (S[k] ? S[k][lang === 'en' ? 1 : 0] : k);
// A view module keeps its own strings beside its code: strings({ key: ['日本語', 'English'] }).
// A key already taken is an error, so two modules never silently overwrite each other.
export function strings(more) {
  for (const [k, v] of Object.entries(more)) {
    if (S[k]) throw new Error(`string ${k} defined twice`);
    if (!Array.isArray(v) || v.length !== 2 || !v[0] || !v[1]) throw new Error(`string ${k} needs ja and en`);
    S[k] = v;
  }
}
// a state word of the API (live, revoked, invited, success, sent …) in the page's language
const STATE = { revoked: 'revokedState', deleted: 'deletedState', invited: 'invitedState', failed: 'failedState' };
export const st = (k) => t(STATE[k] || k);

// The tenant's zone (set by the shell from GET /api/v1/tenant, else the provider's).
export let zone = 'Asia/Tokyo';
export const setZone = (z) => {
  try { new Intl.DateTimeFormat('en', { timeZone: z }); zone = z; } catch { /* keep the default */ }
};

export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (isNaN(d)) return String(iso);
  const p = Object.fromEntries(new Intl.DateTimeFormat('en-US', {
    timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
    hourCycle: 'h23', timeZoneName: 'short',
  }).formatToParts(d).map((x) => [x.type, x.value]));
  // 2026-12-01 18:55 GMT+9: one form in both languages, the zone named
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute} ${p.timeZoneName}`;
}

// "YYYY-MM-DDTHH:MM" as a wall time in the tenant's zone -> RFC 3339 UTC.
export function zoneToUtc(local) {
  const guess = new Date(local + 'Z');
  if (isNaN(guess)) return null;
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23',
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
    .formatToParts(guess).map((p) => [p.type, p.value]));
  const asZone = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour, +parts.minute, +parts.second);
  return new Date(guess.getTime() - (asZone - guess.getTime())).toISOString();
}

export function fmtSize(n) {
  if (n === undefined || n === null) return '';
  const u = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0, v = n;
  while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
  return (i ? v.toFixed(1) : String(v)) + ' ' + u[i];
}

// Bidirectional formatting characters (U+061C, U+200E/F, U+202A-U+202E, U+2066-U+2069) in a
// text are shown as [U+202E]: an override in a name ("\u202Etxt.exe") would make it read
// as something else.
const BIDI = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;
export const visible = (s) => s.replace(BIDI, (c) => `[U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}]`);

// An element: h('button', { type: 'button', onclick: f }, 'text', child…). Strings become
// text nodes; attributes are set by name (never as HTML).
export function h(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'text') e.textContent = v;
    else if (k === 'hidden' || k === 'checked' || k === 'disabled' || k === 'required' || k === 'selected') e[k] = true;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of kids.flat(Infinity)) if (c !== null && c !== undefined && c !== false)
    e.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(visible(String(c))) : c);
  return e;
}

export const say = (msg, detail) => {
  document.getElementById('msg').textContent = msg + (detail !== undefined ? String(detail) : '');
};
export const reason = (r) => (r.data && (r.data.detail || r.data.title)) || r.status;

// Back to the login page, which brings the user back here after logging in.
export function toLogin() {
  location.assign('/login?next=' + encodeURIComponent(location.pathname + location.search));
}

export async function api(method, path, body) {
  const r = await rawApi(method, path, body);
  if (r.status === 401) { toLogin(); throw new Error('session ended'); }
  return r;
}

// A labelled field: label text, then the control.
export const field = (label, control) => h('label', {}, label, control);
// rows: a <tbody> the caller fills later, or the rows themselves
export const table = (heads, rows) => h('div', { class: 'scroll', tabindex: 0 }, h('table', {},
  h('thead', {}, h('tr', {}, heads.map((x) => h('th', { scope: 'col' }, x)))),
  rows && rows.tagName === 'TBODY' ? rows : h('tbody', {}, rows)));
export const btn = (label, onclick, cls) => h('button', { type: 'button', onclick, class: cls }, label);
