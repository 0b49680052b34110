// The landing page: what kura is, the way to the login, and the language switch.
import { setup, strings } from './outer.js';

strings({
  xAbout: ['ファイルを暗号化して保管し、社内外の人と安全に受け渡しできます。すべての操作は監査ログに記録されます。',
    'Files are stored encrypted and exchanged safely with people inside and outside your organisation; every action is recorded in the audit log.'],
  xForgot: ['パスワードを忘れた場合', 'Forgot your password?'],
});

setup();
document.body.dataset.ready = '1';
