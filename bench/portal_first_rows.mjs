// Benchmark (issue 15): a folder of N files (default 100,000) and one of 10, made through the
// API (PUTs of a few bytes over CONN keep-alive connections; never SQL), then in Chromium the
// time from the start of navigation to /files?folder=ID until the first rows are in #list
// and painted (the next animation frame), LOADS times each (default 7; median, min, max),
// and the time of a listing page of 1,000 (GET …/children?limit=1000, every page of the big
// folder: the server's duration_us from its access log, and as the client sees it).
// Driven by bench/portal_first_rows.sh.
import { run } from '../tests/browser/kura.mjs';
import { login, median, setup } from './portal.mjs';

const N = Number(process.env.N || 100000);
const LOADS = Number(process.env.LOADS || 7);
const CONN = Number(process.env.CONN || 4);

await run('first-rows.bench', process.argv[2], async (ctx) => {
  const { origin, launch } = ctx;
  const { must } = await setup(process.argv[2], ctx);
  const big = (await must(201, 'POST', '/api/v1/folders/root/children', { name: 'big' })).data.id;
  const small = (await must(201, 'POST', '/api/v1/folders/root/children', { name: 'small' })).data.id;
  const t0 = performance.now();
  let next = 0;
  const body = new Uint8Array([120]);
  const worker = async () => {
    for (let i = next++; i < N; i = next++) {
      await must(201, 'PUT', `/api/v1/folders/${big}/files/f${String(i).padStart(7, '0')}.txt`, body,
        { 'Content-Type': 'application/octet-stream' });
      if (i && i % 20000 === 0) console.error(`  ${i} files, ${(i / ((performance.now() - t0) / 1000)).toFixed(0)}/s`);
    }
  };
  await Promise.all(Array.from({ length: CONN }, worker));
  for (let i = 0; i < 10; i++)
    await must(201, 'PUT', `/api/v1/folders/${small}/files/f${i}.txt`, body, { 'Content-Type': 'application/octet-stream' });
  console.log(`created ${N} + 10 files in ${((performance.now() - t0) / 1000).toFixed(0)} s (${CONN} connections)`);

  // pages of 1,000 through the API
  const ids = [];
  const pages = async (id) => {
    const ms = [];
    let after = null;
    for (;;) {
      const p = `/api/v1/folders/${id}/children?limit=1000${after ? '&after=' + encodeURIComponent(after) : ''}`;
      const s = performance.now();
      const r = await must(200, 'GET', p);
      ms.push(performance.now() - s);
      ids.push(r.headers.get('x-request-id'));
      if (!r.data.more) return ms;
      after = r.data.next;
    }
  };
  const pb = await pages(big), ps = await pages(small);
  await new Promise((r) => setTimeout(r, 300));
  // the server's own time of each page: duration_us in its access log
  const dur = new Map();
  for (const line of ctx.log().split('\n')) {
    if (!line.includes('"http.request"')) continue;
    try { const e = JSON.parse(line); dur.set(e.request_id, Number(e.duration_us) / 1000); } catch { /* partial */ }
  }
  const sb = ids.slice(0, pb.length).map((i) => dur.get(i)).filter((x) => x !== undefined);
  const ss = ids.slice(pb.length).map((i) => dur.get(i)).filter((x) => x !== undefined);

  const browser = await launch();
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 900 } });
  // the first row in #list, then the frame that paints it (init scripts come through the
  // DevTools protocol: the pages' CSP stays on)
  await context.addInitScript(() => {
    new MutationObserver((_, obs) => {
      if (document.querySelector('#list .vrow[data-id]')) {
        obs.disconnect();
        window.__rowAt = performance.now();
        requestAnimationFrame(() => { window.__paintAt = performance.now(); });
      }
    }).observe(document, { childList: true, subtree: true });
  });
  const page = await context.newPage();
  await login(page, origin);
  const loads = async (id) => {
    const v = [];
    for (let i = 0; i < LOADS + 1; i++) {
      await page.goto(`${origin}/files?folder=${id}`);
      await page.waitForFunction(() => window.__paintAt !== undefined, null, { polling: 50 });
      const { at, rows } = await page.evaluate(() => ({ at: window.__paintAt, rows: document.querySelectorAll('#list .vrow').length }));
      if (i) v.push({ at, rows });   // the first load warms the cache of the assets
    }
    return v;
  };
  const lb = await loads(big), ls = await loads(small);
  const f = (v) => `median ${median(v).toFixed(1)} ms (min ${Math.min(...v).toFixed(1)}, max ${Math.max(...v).toFixed(1)})`;
  console.log(`first rows visible in Chromium, from the start of navigation, ${LOADS} loads each:`);
  console.log(`  folder of ${String(N).padEnd(7)}: ${f(lb.map((x) => x.at))}; ${lb[0].rows} rows in the DOM`);
  console.log(`  folder of ${'10'.padEnd(7)}: ${f(ls.map((x) => x.at))}; ${ls[0].rows} rows in the DOM`);
  console.log('a page of 1,000 through the API, the server\'s time (access log duration_us):');
  console.log(`  folder of ${String(N).padEnd(7)}: ${String(sb.length).padStart(3)} page(s), ${f(sb)}`);
  console.log(`  folder of ${'10'.padEnd(7)}: ${String(ss.length).padStart(3)} page(s), ${f(ss)}`);
  console.log('the same, as the client on loopback sees it:');
  console.log(`  folder of ${String(N).padEnd(7)}: ${String(pb.length).padStart(3)} page(s), ${f(pb)}`);
  console.log(`  folder of ${'10'.padEnd(7)}: ${String(ps.length).padStart(3)} page(s), ${f(ps)}`);
});
