// The status page's script (inlined by daemon/page/page.ts after the layout function). It reads
// the daemon's JSON, follows /page/events and re-reads what an event may have changed. Every
// value from the daemon (and so from peers) reaches the DOM as text, never as markup.

const SVG = 'http://www.w3.org/2000/svg';
const COLUMN = 178;
const NODE_WIDTH = 164;
const ROW = 18;
const NODE_HEIGHT = 15;
const state = { status: null, peers: [], verdicts: [], problems: 0, graph: null, layout: null, activity: { now: Date.now(), builds: [], recent: [] }, skew: 0 };

const $ = (id) => document.getElementById(id);
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') node.className = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
  return node;
}
function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  return node;
}
const short = (hex) => (typeof hex === 'string' ? hex.slice(0, 12) : '');
function digestCell(hex) {
  return hex ? el('span', { class: 'mono', title: hex }, short(hex)) : el('span', { class: 'muted' }, '–');
}
function badge(kind, text) {
  return el('span', { class: `badge ${kind}` }, text);
}
function verdictText(v) {
  if (v.status === 'pending') return `pending ${v.count} of ${v.threshold}`;
  if (v.status === 'trusted') return `trusted ${v.count} of ${v.threshold}`;
  return 'conflict';
}
function elapsed(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}
async function getJson(path) {
  const response = await fetch(path, { credentials: 'same-origin', cache: 'no-store' });
  if (response.status === 401) throw new Error('session expired: run `stagex-node open` for a new login URL');
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

// ---- summary ----
function renderSummary() {
  const s = state.status;
  const box = $('summary');
  const live = $('live');
  box.replaceChildren();
  if (s) {
    $('where').textContent = `· ${s.name} · network ${s.networkId}`;
    const v = s.store.verdicts;
    const running = state.activity.builds.filter((b) => b.state === 'running').length;
    const queued = state.activity.builds.filter((b) => b.state === 'queued').length;
    const failed = state.activity.builds.filter((b) => b.state === 'failed').length;
    const item = (dot, n, label) => el('span', {}, dot ? el('span', { class: `dot ${dot}` }) : null, el('b', {}, n), ` ${label}`);
    box.append(
      item('trusted', v.trusted, 'trusted'), item('pending', v.pending, 'pending'), item('conflict', v.conflict, v.conflict === 1 ? 'conflict' : 'conflicts'),
      item(null, distinctPeers().size, distinctPeers().size === 1 ? 'peer' : 'peers'), item(null, s.store.envelopes, 'envelopes'),
      item(null, running, 'building'), item(null, queued, 'queued'),
    );
    if (failed > 0) box.append(el('span', { class: 'problem' }, el('b', {}, failed), ' failed'));
    if (state.problems > 0) box.append(el('span', { class: 'problem', title: 'unreadable store entries: see the daemon log' }, el('b', {}, state.problems), ' store problems'));
    if (s.store.equivocating.length > 0) box.append(el('span', { class: 'problem' }, el('b', {}, s.store.equivocating.length), ' equivocating'));
  }
  box.append(live);
}

// ---- builds ----
function renderBuilds() {
  const builds = state.activity.builds;
  const now = Date.now() + state.skew;
  const box = $('builds');
  box.replaceChildren();
  const order = { running: 0, failed: 1, blocked: 2, waiting: 3, queued: 4, built: 5, reused: 6 };
  const count = (st) => builds.filter((b) => b.state === st).length;
  $('builds-count').textContent = builds.length === 0 ? '' : `${count('running')} running · ${count('queued')} queued · ${count('built') + count('reused')} done · ${count('failed')} failed`;
  if (builds.length === 0) {
    box.append(el('div', { class: 'empty' }, 'No builds in this run (this reproducer has no assignment, or its builder has not planned yet).'));
    return;
  }
  const rows = [...builds].sort((a, b) => order[a.state] - order[b.state] || (b.startedAt || 0) - (a.startedAt || 0) || a.image.localeCompare(b.image));
  const body = el('tbody');
  for (const b of rows) {
    const time = b.state === 'running' ? elapsed(now - b.startedAt) : b.startedAt && b.finishedAt ? elapsed(b.finishedAt - b.startedAt) : '';
    const detail = b.state === 'running' ? (b.step || 'starting') : b.reason || '';
    const log = b.inputDigest && b.state !== 'queued' ? el('a', { href: `/builds/${b.inputDigest}/log`, target: '_blank', rel: 'noopener' }, 'log') : '';
    body.append(el('tr', { 'data-state': b.state },
      el('td', {}, badge(b.state, b.state)), el('td', {}, b.image), el('td', { class: 'muted' }, b.platform),
      el('td', { class: 'mono running-time' }, time), el('td', { class: b.state === 'failed' ? 'problem' : '' }, detail),
      el('td', {}, digestCell(b.digest)), el('td', {}, log)));
  }
  box.append(el('div', { class: 'scroll' }, el('table', {}, el('thead', {}, el('tr', {}, ...['State', 'Image', 'Platform', 'Time', 'Step or reason', 'Digest', ''].map((h) => el('th', {}, h)))), body)));
}

// ---- graph ----
/** An image's colour: the verdicts on the builds the tree describes now (its input digests). */
function graphStatus(node, byImage) {
  const wanted = new Set(Object.values(node.inputs || {}));
  const found = (byImage.get(node.image) || []).filter((v) => wanted.size === 0 || wanted.has(v.inputDigest));
  if (found.length === 0) return 'unknown';
  if (found.some((v) => v.status === 'conflict')) return 'conflict';
  if (found.some((v) => v.status === 'pending')) return 'pending';
  return 'trusted';
}
function graphNodes() {
  const g = state.graph;
  if (g && g.nodes.length > 0) return g.nodes;
  // No readable tree: the images listed (conflicts only then), without edges.
  return [...new Set(state.verdicts.map((v) => v.image))].map((image) => ({ image, stage: image.split('-')[0], dependencies: [], inputs: {} }));
}
function drawGraph() {
  const nodes = graphNodes();
  const box = $('graph-box');
  const layout = layoutGraph(nodes.map((n) => ({ id: n.image, deps: n.dependencies })), { maxRows: 40, columnWidth: COLUMN, rowHeight: ROW, layerGap: 26 });
  state.layout = { nodes, key: nodes.map((n) => n.image).join(' ') };
  const pad = 8;
  const top = 18;
  const root = svg('svg', { id: 'graph', width: layout.width + 2 * pad, height: layout.height + top + pad, viewBox: `0 0 ${layout.width + 2 * pad} ${layout.height + top + pad}`, role: 'img', 'aria-label': `build graph of ${nodes.length} images` });
  const at = new Map(layout.nodes.map((p) => [p.id, p]));
  const edges = svg('g', { class: 'edges' });
  const edgeEls = new Map();
  for (const e of layout.edges) {
    const a = at.get(e.from);
    const b = at.get(e.to);
    const x1 = a.x + pad + NODE_WIDTH;
    const y1 = a.y + top + NODE_HEIGHT / 2;
    const x2 = b.x + pad;
    const y2 = b.y + top + NODE_HEIGHT / 2;
    const mid = (x1 + x2) / 2;
    const path = svg('path', { class: e.implied ? 'edge implied' : 'edge', d: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}` });
    edges.append(path);
    for (const id of [e.from, e.to]) {
      if (!edgeEls.has(id)) edgeEls.set(id, []);
      edgeEls.get(id).push({ path, other: id === e.from ? e.to : e.from });
    }
  }
  root.append(edges);
  const labels = svg('g');
  const seen = new Set();
  for (const p of layout.nodes) {
    if (seen.has(p.layer)) continue;
    seen.add(p.layer);
    const t = svg('text', { class: 'layer-label', x: p.x + pad, y: 11 });
    t.textContent = `depth ${p.layer}`;
    labels.append(t);
  }
  root.append(labels);
  const group = svg('g', { class: 'nodes' });
  const byId = new Map(nodes.map((n) => [n.image, n]));
  for (const p of layout.nodes) {
    const g = svg('g', { class: 'node unknown', 'data-image': p.id, transform: `translate(${p.x + pad},${p.y + top})` });
    const title = svg('title');
    const n = byId.get(p.id);
    title.textContent = `${p.id}\nneeds: ${n.dependencies.join(', ') || 'nothing'}`;
    const label = svg('text', { x: 5, y: 11 });
    label.textContent = p.id.length > 26 ? `${p.id.slice(0, 25)}…` : p.id;
    g.append(title, svg('rect', { width: NODE_WIDTH, height: NODE_HEIGHT }), label);
    g.addEventListener('mouseenter', () => {
      root.classList.add('focus');
      g.classList.add('hot');
      for (const { path, other } of edgeEls.get(p.id) || []) {
        path.classList.add('hot');
        root.querySelector(`g.node[data-image="${CSS.escape(other)}"]`)?.classList.add('hot');
      }
    });
    g.addEventListener('mouseleave', () => {
      root.classList.remove('focus');
      for (const hot of root.querySelectorAll('.hot')) hot.classList.remove('hot');
    });
    group.append(g);
  }
  root.append(group);
  box.replaceChildren(root);
  const implied = layout.edges.filter((e) => e.implied).length;
  $('graph-count').textContent = `${nodes.length} images · ${layout.layers} layers · ${layout.edges.length} dependencies`;
  const g = state.graph;
  const notes = ['Columns are dependency depth; each image sits right of everything it needs.'];
  if (implied > 0) notes.push(`${implied} dependencies already implied through another one are drawn when you point at an image.`);
  if (g && g.errors.length > 0) notes.push(g.nodes.length === 0 ? `The tree at ${g.tree} could not be read (${g.errors[0]}); showing the attested images.` : `${g.errors.length} package(s) of the tree could not be read; they are left out.`);
  $('graph-note').textContent = notes.join(' ');
}
function colourGraph() {
  const nodes = graphNodes();
  if (!state.layout || state.layout.key !== nodes.map((n) => n.image).join(' ')) drawGraph();
  const byImage = new Map();
  for (const v of state.verdicts) {
    if (!byImage.has(v.image)) byImage.set(v.image, []);
    byImage.get(v.image).push(v);
  }
  const tally = { trusted: 0, pending: 0, conflict: 0, unknown: 0 };
  for (const n of nodes) {
    const status = graphStatus(n, byImage);
    tally[status] += 1;
    const g = document.querySelector(`#graph g.node[data-image="${CSS.escape(n.image)}"]`);
    if (g) g.setAttribute('class', `node ${status}${g.classList.contains('hot') ? ' hot' : ''}`);
  }
  $('graph-section').dataset.trusted = String(tally.trusted);
}

// ---- verdicts ----
function renderVerdicts() {
  const filter = $('filter').value.trim().toLowerCase();
  const body = $('verdicts').tBodies[0];
  const rows = [];
  const order = { conflict: 0, pending: 1, trusted: 2 };
  const sorted = [...state.verdicts].sort((a, b) => order[a.status] - order[b.status] || a.image.localeCompare(b.image) || a.platform.localeCompare(b.platform));
  for (const v of sorted) {
    const text = [v.image, v.platform, v.inputDigest, ...v.digests.flatMap((d) => [d.digest, ...d.signers, ...d.stagex.map((s) => s.digest)])].join(' ').toLowerCase();
    if (filter && !text.includes(filter)) continue;
    const digests = el('td', {}, ...v.digests.map((d) => el('div', {}, digestCell(d.digest))));
    const stagex = el('td', {}, ...v.digests.map((d) => el('div', {}, d.stagex.length ? digestCell(d.stagex[0].digest) : el('span', { class: 'muted' }, '–'))));
    const signers = el('td', { class: 'signers' }, ...v.digests.map((d) => el('div', {}, d.signers.join(', '), v.digests.length > 1 ? el('span', { class: 'muted' }, ` → ${short(d.digest)}`) : null)));
    if (v.equivocating.length > 0) signers.append(el('div', { class: 'problem' }, `equivocating: ${v.equivocating.map((e) => e.signer).join(', ')}`));
    rows.push(el('tr', { 'data-image': v.image, 'data-status': v.status },
      el('td', {}, v.image), el('td', { class: 'muted' }, v.platform), el('td', {}, badge(v.status, verdictText(v))),
      digests, stagex, signers, el('td', {}, digestCell(v.inputDigest))));
  }
  body.replaceChildren(...rows);
  // The daemon lists the builds the tree describes now and every conflict; /status counts them all.
  const total = state.status?.store?.identities ?? state.verdicts.length;
  const empty = state.verdicts.length > 0 ? 'No verdict matches the filter.' : total > 0 ? 'Nothing attested for the tree\'s builds yet.' : 'Nothing attested yet.';
  if (rows.length === 0) body.append(el('tr', {}, el('td', { class: 'empty', colspan: '7' }, empty)));
  $('verdicts-count').textContent = `${state.verdicts.length} listed (the tree's builds and any conflict) of ${total} build identities${filter ? ` · ${rows.length} shown` : ''}`;
}

// ---- peers, equivocation, events ----
/** Connections by peer: two peers that dialled each other hold two connections. */
function distinctPeers() {
  const peers = new Map();
  for (const p of state.peers) peers.set(p.peerId, [...(peers.get(p.peerId) || []), p.address]);
  return peers;
}
function renderPeers() {
  const body = $('peers').tBodies[0];
  const peers = distinctPeers();
  body.replaceChildren(...[...peers].map(([id, addresses]) => el('tr', {}, el('td', { class: 'mono', title: id }, `${id.slice(0, 16)}…`), el('td', { class: 'mono' }, ...addresses.map((a) => el('div', {}, a))))));
  $('peers-count').textContent = String(peers.size);
  if (peers.size === 0) body.append(el('tr', {}, el('td', { class: 'empty', colspan: '2' }, 'No peer connected.')));
  const eq = state.status ? state.status.store.equivocating : [];
  $('equivocating-count').textContent = String(eq.length);
  $('equivocating').replaceChildren(eq.length === 0 ? el('div', { class: 'empty' }, 'None: no trusted key has signed two digests for one build.') : el('div', { class: 'problem' }, eq.join(', ')));
}
function describe(fields) {
  return Object.entries(fields).map(([k, v]) => `${k}=${(typeof v === 'string' ? v : JSON.stringify(v)).replace(/\b[0-9a-f]{64}\b/g, short)}`).join(' ');
}
function renderEvents() {
  const events = state.activity.recent.slice(-100).reverse();
  const body = $('events').tBodies[0];
  body.replaceChildren(...events.map((e) => el('tr', { class: `lvl-${e.level}` },
    el('td', { class: 'time' }, new Date(e.time).toLocaleTimeString()), el('td', { class: 'name' }, e.event), el('td', { class: 'mono' }, describe(e.fields)))));
  if (events.length === 0) body.append(el('tr', {}, el('td', { class: 'empty' }, 'Nothing yet.')));
  $('events-count').textContent = String(state.activity.recent.length);
}

// ---- refresh and live updates ----
let refreshing = null;
let again = false;
async function refresh() {
  if (refreshing) {
    again = true;
    return refreshing;
  }
  refreshing = (async () => {
    try {
      const [status, peers, verdicts, activity] = await Promise.all([getJson('/status'), getJson('/peers'), getJson('/page/verdicts'), getJson('/page/activity')]);
      if (!state.graph) state.graph = await getJson('/page/graph');
      Object.assign(state, { status, peers, verdicts: verdicts.verdicts, problems: verdicts.problems, activity, skew: activity.now - Date.now() });
      renderSummary();
      renderBuilds();
      colourGraph();
      renderVerdicts();
      renderPeers();
      renderEvents();
      document.body.dataset.ready = 'true';
    } catch (error) {
      $('live').className = 'off';
      $('live').textContent = String(error.message || error);
    }
  })();
  await refreshing;
  refreshing = null;
  if (again) {
    again = false;
    setTimeout(refresh, 300);
  }
}
let pending = null;
function soon() {
  if (pending === null) pending = setTimeout(() => { pending = null; refresh(); }, 250);
}
function connect() {
  const source = new EventSource('/page/events');
  source.onopen = () => {
    $('live').className = 'on';
    $('live').textContent = 'live';
    soon();
  };
  source.onmessage = (message) => {
    const event = JSON.parse(message.data);
    if (event.level !== 'debug') {
      state.activity.recent.push(event);
      if (state.activity.recent.length > 200) state.activity.recent.shift();
      renderEvents();
    }
    soon();
  };
  source.onerror = () => {
    $('live').className = 'off';
    $('live').textContent = 'reconnecting…';
  };
}
$('filter').addEventListener('input', renderVerdicts);
$('fit').addEventListener('click', () => {
  const fit = $('graph-box').classList.toggle('fit');
  $('fit').textContent = fit ? 'Actual size' : 'Fit to width';
});
setInterval(() => {
  if (state.activity.builds.some((b) => b.state === 'running')) renderBuilds();
}, 1000);
// A slow fallback: a stream that missed an event still converges.
setInterval(refresh, 30_000);
refresh();
connect();
