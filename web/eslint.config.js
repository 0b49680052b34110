// eslint for web/js (ctest web/lint, tests/web/lint.mjs): the recommended rules, no eval in
// any form, and no way to put text into a page as HTML: kura's scripts show names and
// messages that come from other people, so they build the DOM and set textContent only.
import js from '@eslint/js';

const asHtml = 'builds HTML from a string: create elements and set textContent instead';

export default [
  js.configs.recommended,
  {
    files: ['js/**/*.js'],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      // the browser's globals that kura's scripts use; a new one is added here on purpose
      globals: {
        atob: 'readonly', btoa: 'readonly', document: 'readonly', DOMParser: 'readonly',
        fetch: 'readonly', location: 'readonly', navigator: 'readonly', sessionStorage: 'readonly',
        setInterval: 'readonly', localStorage: 'readonly', window: 'readonly', history: 'readonly',
        XMLHttpRequest: 'readonly', URLSearchParams: 'readonly', requestAnimationFrame: 'readonly', setTimeout: 'readonly', clearInterval: 'readonly', clearTimeout: 'readonly',
        URL: 'readonly',   // outer.js: the login page's ?next= is parsed, never followed as typed
      },
    },
    rules: {
      'no-eval': 'error',
      'no-implied-eval': 'error',
      'no-new-func': 'error',
      'no-script-url': 'error',
      'no-restricted-properties': ['error',
        { property: 'innerHTML', message: asHtml },
        { property: 'outerHTML', message: asHtml },
        { property: 'insertAdjacentHTML', message: asHtml },
        { property: 'createContextualFragment', message: asHtml },
        { object: 'document', property: 'write', message: asHtml },
        { object: 'document', property: 'writeln', message: asHtml },
      ],
      'no-restricted-globals': ['error', { name: 'eval', message: 'no eval' }],
    },
  },
];
