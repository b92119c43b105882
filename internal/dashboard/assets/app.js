// Arbiter dashboard: reads the analytics API (same origin, session cookie) and draws
// it with Chart.js. Plain script, no build step. Every value from the API reaches the
// page through textContent, never as HTML.
'use strict';
(() => {
  const $ = (s) => document.querySelector(s);
  const REFRESH_MS = 30_000;
  const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#8cd17d', '#bab0ac'];
  const CAUSES = [['saved_cache', 'Cache', '#59a14f'], ['saved_routing', 'Routing', '#4e79a7'], ['saved_provider', 'Provider choice', '#f28e2b']];

  const state = {
    range: '24h', from: '', to: '',
    filter: {}, cursor: '', pages: 0,
    data: null, charts: {}, timer: 0, loading: false,
  };

  // ---- formatting ----------------------------------------------------------------
  const nf = new Intl.NumberFormat();
  function usd(nano) {
    const d = Number(nano) / 1e9;
    const a = Math.abs(d);
    let s;
    if (a === 0) s = '0.00';
    else if (a >= 1000) s = a.toLocaleString(undefined, { maximumFractionDigits: 0 });
    else if (a >= 1) s = a.toFixed(2);
    else if (a >= 0.001) s = a.toFixed(4);
    else s = a.toFixed(6);
    return (d < 0 ? '−$' : '$') + s;
  }
  const pct = (x, digits = 1) => (x * 100).toFixed(digits) + '%';
  function msText(v) {
    if (!v) return '0 ms';
    if (v >= 1000) return (v / 1000).toFixed(v >= 10_000 ? 1 : 2) + ' s';
    if (v >= 10) return Math.round(v) + ' ms';
    return v.toFixed(v >= 1 ? 1 : 2) + ' ms';
  }
  function localTime(iso, withDate) {
    const d = new Date(iso);
    const opt = { hour: '2-digit', minute: '2-digit' };
    if (withDate) Object.assign(opt, { month: 'short', day: 'numeric' });
    return d.toLocaleString(undefined, opt);
  }
  function bucketLabel(iso, interval, spanDays) {
    const d = new Date(iso);
    if (interval === 'day') return d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
    if (spanDays > 1) return d.toLocaleString(undefined, { weekday: 'short', hour: '2-digit', minute: '2-digit' });
    return d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  }
  function el(tag, props, ...kids) {
    const e = document.createElement(tag);
    if (props) for (const [k, v] of Object.entries(props)) {
      if (k === 'class') e.className = v;
      else if (k === 'dataset') Object.assign(e.dataset, v);
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const k of kids) if (k !== null && k !== undefined) e.append(k instanceof Node ? k : String(k));
    return e;
  }
  const short = (s, n = 30) => (s.length > n ? s.slice(0, n - 1) + '…' : s);
  const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

  // ---- API -----------------------------------------------------------------------
  function rangeParams() {
    if (state.range === 'custom' && state.from && state.to) return { from: state.from, to: state.to };
    return { range: state.range === 'custom' ? '24h' : state.range };
  }
  async function api(path, params = {}) {
    const u = new URL('api/' + path, location.href);
    for (const [k, v] of Object.entries(params)) if (v !== '' && v !== undefined && v !== null) u.searchParams.set(k, v);
    const res = await fetch(u, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    if (res.status === 401) {
      location.href = 'login';
      throw new Error('signed out');
    }
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error((body.error && body.error.message) || res.status + ' ' + res.statusText);
    return body;
  }
  function showError(err) {
    const p = $('#error');
    if (!err) { p.hidden = true; return; }
    p.textContent = 'Could not load the dashboard: ' + err.message;
    p.hidden = false;
  }

  // ---- loading -------------------------------------------------------------------
  async function loadAll() {
    if (state.loading) return;
    state.loading = true;
    document.body.dataset.loading = 'true';
    try {
      const r = rangeParams();
      const [byModel, byRoute, byProvider, byKey, health] = await Promise.all([
        api('summary', { ...r, by: 'model' }),
        api('summary', { ...r, by: 'route', interval: 'none' }),
        api('summary', { ...r, by: 'provider', interval: 'none' }),
        api('summary', { ...r, by: 'key', interval: 'none' }),
        api('health'),
      ]);
      state.data = { byModel, byRoute, byProvider, byKey, health };
      render();
      fillFilterOptions();
      if (state.pages <= 1) await loadLog(true);
      showError(null);
      $('#updated').textContent = 'Updated ' + new Date().toLocaleTimeString();
      document.body.dataset.loaded = 'true';
    } catch (err) {
      showError(err);
    } finally {
      state.loading = false;
      delete document.body.dataset.loading;
    }
  }

  function render() {
    const d = state.data;
    if (!d) return;
    renderKPIs(d.byModel.totals);
    renderSpend(d.byModel);
    renderSavings(d.byModel.totals);
    renderModels(d.byModel);
    renderReasons(d.byRoute);
    renderCache(d.byModel);
    renderLatency(d.byModel);
    renderHealth(d.health, d.byProvider);
    renderKeys(d.byKey);
  }

  // ---- headline figures ----------------------------------------------------------
  function setMoney(id, m) {
    const e = $(id);
    e.textContent = usd(m.nanousd);
    e.dataset.usd = m.usd;
    e.dataset.nanousd = String(m.nanousd);
    e.title = '$' + m.usd;
  }
  function renderKPIs(t) {
    setMoney('#kpi-spend', t.cost);
    setMoney('#kpi-baseline', t.baseline_cost);
    setMoney('#kpi-saved', t.saved);
    $('#kpi-saved-pct').textContent = t.saved_percent.toFixed(1) + '% of the baseline';
    $('#kpi-saved-pct').dataset.value = String(t.saved_percent);
    $('#kpi-requests').textContent = nf.format(t.requests);
    $('#kpi-requests').dataset.value = String(t.requests);
    $('#kpi-cache').textContent = pct(t.cache_hit_rate);
    $('#kpi-cache').dataset.value = String(t.cache_hit_rate);
    $('#kpi-cache-sub').textContent = `${nf.format(t.cache_hits)} exact · ${nf.format(t.semantic_hits)} semantic · ${nf.format(t.coalesced)} coalesced`;
    $('#kpi-latency').textContent = msText(t.latency_p50_ms) + ' / ' + msText(t.latency_p99_ms);
    $('#kpi-latency').dataset.p50 = String(t.latency_p50_ms);
    $('#kpi-latency').dataset.p99 = String(t.latency_p99_ms);
    $('#kpi-ttft').textContent = t.ttft_p50_ms ? 'first token p50 ' + msText(t.ttft_p50_ms) : '';
    $('#kpi-errors').textContent = pct(t.error_rate, 2);
    $('#kpi-errors').dataset.value = String(t.error_rate);
    $('#kpi-errors-sub').textContent = `${nf.format(t.errors)} of ${nf.format(t.requests)}`;
  }

  // ---- charts --------------------------------------------------------------------
  function theme() {
    if (!window.Chart) return;
    Chart.defaults.color = css('--muted');
    Chart.defaults.borderColor = css('--line');
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.animation = false;
    Chart.defaults.maintainAspectRatio = false;
    Chart.defaults.plugins.legend.labels.boxWidth = 12;
  }
  function draw(id, config) {
    if (!window.Chart) return;
    const old = state.charts[id];
    if (old) old.destroy();
    state.charts[id] = new Chart($('#' + id), config);
  }
  function labels(s) {
    const spanDays = (new Date(s.to) - new Date(s.from)) / 86_400_000;
    return (s.series || []).map((p) => bucketLabel(p.time, s.interval, spanDays));
  }
  // Points are drawn while there are few buckets with data, so that a lone bucket shows.
  const pr = (series) => (series.filter((p) => p.requests).length < 24 ? 3 : 0);
  const dollarsTick = { callback: (v) => usd(v * 1e9) };

  function renderSpend(s) {
    const groups = (s.groups || []).filter((g) => g.totals.cost.nanousd !== 0 || g.totals.requests > 0);
    const top = groups.slice(0, 8).map((g) => g.key);
    const rest = groups.slice(8).map((g) => g.key);
    const series = s.series || [];
    const ds = top.map((k, i) => ({
      type: 'bar', label: k || '(none)', stack: 'spend', backgroundColor: PALETTE[i % PALETTE.length],
      data: series.map((p) => ((p.groups && p.groups[k]) ? p.groups[k].cost_nanousd : 0) / 1e9),
    }));
    if (rest.length) {
      ds.push({
        type: 'bar', label: 'other', stack: 'spend', backgroundColor: PALETTE[10],
        data: series.map((p) => rest.reduce((a, k) => a + ((p.groups && p.groups[k]) ? p.groups[k].cost_nanousd : 0), 0) / 1e9),
      });
    }
    ds.push({
      type: 'line', label: 'would have cost', stack: 'baseline', borderColor: css('--fg'), backgroundColor: css('--fg'),
      borderDash: [5, 4], pointRadius: 0, borderWidth: 2, tension: 0.2,
      data: series.map((p) => p.baseline_cost_nanousd / 1e9),
    });
    draw('chart-spend', {
      data: { labels: labels(s), datasets: ds },
      options: {
        interaction: { mode: 'index', intersect: false },
        scales: { x: { stacked: true, ticks: { maxRotation: 0, autoSkipPadding: 12 } }, y: { stacked: true, beginAtZero: true, ticks: dollarsTick } },
        plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${usd(c.parsed.y * 1e9)}` } } },
      },
    });
  }

  function renderSavings(t) {
    const vals = CAUSES.map(([k]) => t[k].nanousd);
    draw('chart-savings', {
      type: 'doughnut',
      data: { labels: CAUSES.map((c) => c[1]), datasets: [{ data: vals.map((v) => Math.max(v, 0) / 1e9), backgroundColor: CAUSES.map((c) => c[2]), borderWidth: 0 }] },
      options: { cutout: '62%', plugins: { legend: { display: false }, tooltip: { callbacks: { label: (c) => `${c.label}: ${usd(c.parsed * 1e9)}` } } } },
    });
    const total = t.saved.nanousd;
    const ul = $('#savings-list');
    ul.replaceChildren(...CAUSES.map(([k, name, color]) => el('li', { dataset: { cause: k } },
      el('span', null, el('span', { class: 'sw', style: 'background:' + color }), name),
      el('span', null, usd(t[k].nanousd), total > 0 ? el('span', { class: 'muted' }, ' · ' + pct(t[k].nanousd / total, 0)) : null))));
  }

  function renderModels(s) {
    const groups = (s.groups || []).slice().sort((a, b) => b.totals.requests - a.totals.requests).slice(0, 10);
    const total = s.totals.requests || 1;
    draw('chart-models', {
      type: 'bar',
      data: { labels: groups.map((g) => short(g.key || '(none)', 24)), datasets: [{ label: 'share of requests', data: groups.map((g) => g.totals.requests / total * 100), backgroundColor: groups.map((_, i) => PALETTE[i % PALETTE.length]) }] },
      options: {
        indexAxis: 'y', plugins: { legend: { display: false }, tooltip: { callbacks: { label: (c) => `${c.parsed.x.toFixed(1)}% · ${nf.format(groups[c.dataIndex].totals.requests)} requests` } } },
        scales: { x: { beginAtZero: true, ticks: { callback: (v) => v + '%' } } },
      },
    });
  }

  function renderReasons(s) {
    const all = (s.groups || []).slice().sort((a, b) => b.totals.requests - a.totals.requests);
    const groups = all.slice(0, 6).map((g) => ({ label: g.key || '(none)', n: g.totals.requests }));
    const rest = all.slice(6).reduce((a, g) => a + g.totals.requests, 0);
    if (rest) groups.push({ label: `other (${all.length - 6} reasons)`, n: rest });
    draw('chart-reasons', {
      type: 'doughnut',
      data: { labels: groups.map((g) => g.label), datasets: [{ data: groups.map((g) => g.n), backgroundColor: groups.map((_, i) => PALETTE[(i + 4) % PALETTE.length]), borderWidth: 0 }] },
      options: {
        cutout: '55%',
        plugins: {
          legend: { position: 'bottom', labels: { generateLabels: (chart) => Chart.overrides.doughnut.plugins.legend.labels.generateLabels(chart).map((l) => ({ ...l, text: short(l.text, 34) })) } },
          tooltip: { callbacks: { label: (c) => `${c.label}: ${nf.format(c.parsed)}` } },
        },
      },
    });
  }

  function renderCache(s) {
    const series = s.series || [];
    const share = (f) => series.map((p) => (p.requests ? f(p) / p.requests * 100 : null));
    draw('chart-cache', {
      type: 'line',
      data: {
        labels: labels(s), datasets: [
          { label: 'exact', data: share((p) => p.cache_hits), borderColor: '#59a14f', backgroundColor: '#59a14f', pointRadius: pr(series), spanGaps: true, tension: 0.2 },
          { label: 'semantic', data: share((p) => p.semantic_hits), borderColor: '#b07aa1', backgroundColor: '#b07aa1', pointRadius: pr(series), spanGaps: true, tension: 0.2 },
          { label: 'coalesced', data: share((p) => p.coalesced), borderColor: '#76b7b2', backgroundColor: '#76b7b2', pointRadius: pr(series), spanGaps: true, tension: 0.2 },
        ],
      },
      options: { interaction: { mode: 'index', intersect: false }, scales: { x: { ticks: { maxRotation: 0, autoSkipPadding: 12 } }, y: { beginAtZero: true, ticks: { callback: (v) => v + '%' } } } },
    });
  }

  function renderLatency(s) {
    const series = s.series || [];
    const line = (label, key, color) => ({ label, data: series.map((p) => (p.requests ? p[key] : null)), borderColor: color, backgroundColor: color, pointRadius: pr(series), spanGaps: true, tension: 0.2 });
    draw('chart-latency', {
      type: 'line',
      data: { labels: labels(s), datasets: [line('p50', 'latency_p50_ms', '#4e79a7'), line('p90', 'latency_p90_ms', '#f28e2b'), line('p99', 'latency_p99_ms', '#e15759')] },
      options: {
        interaction: { mode: 'index', intersect: false },
        scales: { x: { ticks: { maxRotation: 0, autoSkipPadding: 12 } }, y: { beginAtZero: true, ticks: { callback: (v) => msText(v) } } },
        plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${msText(c.parsed.y)}` } } },
      },
    });
  }

  // ---- tables --------------------------------------------------------------------
  const STATE_RANK = { closed: 0, 'half-open': 1, open: 2 };
  function renderHealth(h, byProvider) {
    const rows = new Map();
    const row = (name) => {
      if (!rows.has(name)) rows.set(name, { name, deps: [], totals: null });
      return rows.get(name);
    };
    for (const d of h.deployments || []) row(d.deployment.split('/')[0]).deps.push(d);
    for (const g of byProvider.groups || []) row(g.key || '(none)').totals = g.totals;
    const tb = $('#health tbody');
    tb.replaceChildren(...[...rows.values()].sort((a, b) => a.name.localeCompare(b.name)).map((r) => {
      let worst = null; let errRate = 0; let lat = 0; let latN = 0;
      for (const d of r.deps) {
        if (!worst || STATE_RANK[d.state] > STATE_RANK[worst]) worst = d.state;
        errRate = Math.max(errRate, d.error_rate);
        if (d.latency_ewma_ms > 0) { lat += d.latency_ewma_ms; latN++; }
      }
      const t = r.totals;
      const open = r.deps.filter((d) => d.state !== 'closed').map((d) => d.deployment);
      return el('tr', { dataset: { provider: r.name } },
        el('td', null, r.name),
        el('td', null, worst ? el('span', { class: 'chip ' + worst, title: open.length ? 'not closed: ' + open.join(', ') : r.deps.length + ' deployments, all closed' }, worst) : el('span', { class: 'muted' }, r.name === 'cache' ? 'cache' : '–')),
        el('td', { class: 'num' }, r.deps.length ? pct(errRate) : '–'),
        el('td', { class: 'num' }, latN ? msText(lat / latN) : '–'),
        el('td', { class: 'num' }, t ? nf.format(t.requests) : '0'),
        el('td', { class: 'num' }, t ? nf.format(t.errors) : '0'),
        el('td', { class: 'num' }, t ? usd(t.cost.nanousd) : usd(0)));
    }));
  }

  function renderKeys(s) {
    const tb = $('#keys tbody');
    const groups = (s.groups || []).slice(0, 25);
    tb.replaceChildren(...groups.map((g) => el('tr', null,
      el('td', null, g.key || '(no key)'),
      el('td', { class: 'num' }, nf.format(g.totals.requests)),
      el('td', { class: 'num' }, pct(g.totals.error_rate, 2)),
      el('td', { class: 'num' }, pct(g.totals.cache_hit_rate)),
      el('td', { class: 'num' }, usd(g.totals.cost.nanousd)),
      el('td', { class: 'num' }, usd(g.totals.baseline_cost.nanousd)),
      el('td', { class: 'num' }, usd(g.totals.saved.nanousd)))));
  }

  function fillFilterOptions() {
    const d = state.data;
    const fill = (sel, groups) => {
      const cur = sel.value;
      const keys = (groups || []).map((g) => g.key).filter((k) => k !== '').sort();
      if (cur && !keys.includes(cur)) keys.push(cur);
      sel.replaceChildren(el('option', { value: '' }, 'any'), ...keys.map((k) => el('option', { value: k }, k)));
      sel.value = cur;
    };
    fill($('#f-model'), d.byModel.groups);
    fill($('#f-provider'), d.byProvider.groups);
    fill($('#f-key'), d.byKey.groups);
  }

  // ---- request log ---------------------------------------------------------------
  async function loadLog(reset) {
    if (reset) { state.cursor = ''; state.pages = 0; }
    const tb = $('#log tbody');
    $('#log').dataset.state = 'loading';
    const page = await api('requests', { ...rangeParams(), ...state.filter, cursor: state.cursor, limit: 50 });
    const rows = page.records.map(logRow);
    if (reset) tb.replaceChildren(...rows); else tb.append(...rows);
    state.cursor = page.next || '';
    state.pages++;
    $('#log-more').hidden = !page.next;
    $('#log-empty').hidden = tb.children.length > 0;
    $('#log').dataset.state = 'ready';
  }

  function logRow(r) {
    const model = r.requested_model && r.requested_model !== r.served_model ? `${r.requested_model} → ${r.served_model || '–'}` : (r.served_model || r.requested_model || '–');
    const tr = el('tr', { tabindex: '0', dataset: { id: r.request_id }, title: 'Show request ' + r.request_id },
      el('td', null, localTime(r.time, true)),
      el('td', null, model),
      el('td', { class: 'hide-s' }, r.provider || '–'),
      el('td', { class: 'hide-s trunc', title: r.route_reason || '' }, r.route_reason || '–'),
      el('td', null, el('span', { class: 'chip ' + r.cache }, r.cache)),
      el('td', { class: 'num hide-s' }, `${nf.format(r.input_tokens)} / ${nf.format(r.output_tokens)}`),
      el('td', { class: 'num' }, usd(r.cost_nanousd)),
      el('td', { class: 'num hide-s' }, usd(r.saved_nanousd)),
      el('td', { class: 'num' }, msText(r.latency_ms)),
      el('td', { class: 'num' }, el('span', { class: r.status >= 400 ? 'chip err' : '' }, r.status)));
    const open = () => openDetail(r.request_id);
    tr.addEventListener('click', open);
    tr.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); open(); } });
    return tr;
  }

  function kv(pairs) {
    const dl = el('dl', { class: 'kv' });
    for (const [k, v] of pairs) {
      if (v === undefined || v === null || v === '') continue;
      dl.append(el('dt', null, k), el('dd', null, v));
    }
    return dl;
  }
  const exact = (s) => '$' + s;

  async function openDetail(id) {
    const dlg = $('#detail');
    let r;
    try {
      r = await api('requests/' + encodeURIComponent(id));
    } catch (err) {
      showError(err);
      return;
    }
    $('#detail-title').textContent = 'Request ' + r.request_id;
    const attempts = r.attempts && r.attempts.length ? el('div', { class: 'table-wrap' }, el('table', { id: 'attempts' },
      el('thead', null, el('tr', null, el('th', null, '#'), el('th', null, 'Deployment'), el('th', null, 'Model'), el('th', { class: 'num' }, 'Status'), el('th', null, 'Error'), el('th', { class: 'num' }, 'Latency'))),
      el('tbody', null, ...r.attempts.map((a, i) => el('tr', null, el('td', null, i + 1), el('td', null, a.deployment), el('td', null, a.model || '–'),
        el('td', { class: 'num' }, a.status || '–'), el('td', null, a.error_kind || 'ok'), el('td', { class: 'num' }, msText(a.latency_ms))))))) : el('p', { class: 'muted' }, r.cache === 'miss' || r.cache === 'bypass' ? 'No upstream attempts recorded.' : 'Answered from the cache: no upstream call.');
    $('#detail-body').replaceChildren(
      el('h3', null, 'Route decision'),
      kv([['Time', new Date(r.time).toLocaleString()], ['Client format', r.client_format], ['Requested model', r.requested_model], ['Route', r.route],
        ['Route reason', r.route_reason], ['Served model', r.served_model], ['Provider', r.provider], ['Baseline model', r.baseline_model],
        ['Tenant', r.tenant], ['Key id', r.key_id], ['Stream', r.stream ? 'yes' + (r.partial ? ' (ended early)' : '') : 'no']]),
      el('h3', null, 'Cache'),
      kv([['Status', r.cache], ['Similarity', r.similarity !== undefined ? r.similarity.toFixed(4) : ''], ['Matched entry', r.matched_entry_id]]),
      el('h3', null, 'Tokens'),
      kv([['Input', nf.format(r.input_tokens)], ['Cached input', nf.format(r.cached_tokens)], ['Cache writes', nf.format(r.cache_write_tokens)],
        ['Output', nf.format(r.output_tokens)], ['Reasoning', nf.format(r.reasoning_tokens)], ['Counted by', r.tokens_estimated ? 'Arbiter (estimated)' : 'provider']]),
      el('h3', null, 'Cost'),
      kv([['Cost', exact(r.cost_usd)], ['Would have cost', exact(r.baseline_cost_usd) + (r.baseline_model ? ' (' + r.baseline_model + ')' : '')],
        ['Saved', exact(r.saved_usd)], ['Saving cause', r.saving_cause]]),
      el('h3', null, 'Outcome'),
      kv([['Status', String(r.status)], ['Error', r.error_kind], ['Latency', msText(r.latency_ms)], ['First token', r.ttft_ms ? msText(r.ttft_ms) : ''],
        ['Arbiter overhead', msText(r.overhead_ms)]]),
      el('h3', null, 'Attempts'),
      attempts);
    dlg.dataset.id = r.request_id;
    if (!dlg.open) dlg.showModal();
  }

  // ---- controls ------------------------------------------------------------------
  function toLocalInput(d) {
    const p = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
  }
  function schedule() {
    clearInterval(state.timer);
    state.timer = 0;
    if ($('#auto').checked) state.timer = setInterval(() => { if (!document.hidden) loadAll(); }, REFRESH_MS);
  }
  function reloadFromStart() {
    state.pages = 0;
    loadAll();
  }

  function init() {
    theme();
    $('#range').addEventListener('change', (e) => {
      const v = e.target.value;
      $('#custom').hidden = v !== 'custom';
      if (v === 'custom') {
        const now = new Date();
        if (!$('#from').value) $('#from').value = toLocalInput(new Date(now - 86_400_000));
        if (!$('#to').value) $('#to').value = toLocalInput(now);
        return; // wait for Apply
      }
      state.range = v;
      reloadFromStart();
    });
    $('#range-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const f = new Date($('#from').value); const t = new Date($('#to').value);
      if (isNaN(f) || isNaN(t) || f >= t) { showError(new Error('the custom range needs a start before its end')); return; }
      state.range = 'custom';
      state.from = f.toISOString();
      state.to = t.toISOString();
      reloadFromStart();
    });
    $('#auto').addEventListener('change', schedule);
    $('#refresh').addEventListener('click', reloadFromStart);
    $('#log-filter').addEventListener('submit', (e) => {
      e.preventDefault();
      const fd = new FormData(e.target);
      state.filter = {};
      for (const [k, v] of fd.entries()) if (v) state.filter[k] = v;
      loadLog(true).catch(showError);
    });
    $('#log-filter').addEventListener('reset', () => {
      state.filter = {};
      setTimeout(() => loadLog(true).catch(showError)); // after the form has cleared
    });
    $('#log-more').addEventListener('click', () => loadLog(false).catch(showError));
    $('#detail-close').addEventListener('click', () => $('#detail').close());
    $('#detail').addEventListener('click', (e) => { if (e.target === e.currentTarget) e.currentTarget.close(); });
    window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => { theme(); render(); });
    schedule();
    loadAll();
  }
  init();
})();
