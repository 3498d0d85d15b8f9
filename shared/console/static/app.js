// Parley console: sign in with an API key, see the dashboard, list conversations from both
// APIs, read one.
// The key lives in sessionStorage only and travels only as the Authorization header.
const KEY = "parley.apiKey";
const PAGE = 25;
const $ = (id) => document.getElementById(id);

// The ingest API serves this page: its paths are relative to it (deployed, under the stage).
// The conversations API may be another origin (deployed: its own host, read through CORS).
const CONVERSATIONS_API = document.querySelector('meta[name="parley-conversations-api"]').content;
const ingestUrl = (path) => new URL(path, document.baseURI).href;
const conversationsUrl = (path) => (CONVERSATIONS_API ? `${CONVERSATIONS_API}/${path}` : ingestUrl(path));

class AuthError extends Error {}

function key() { return sessionStorage.getItem(KEY); }

async function api(url) {
  const response = await fetch(url, { headers: { Authorization: `Bearer ${key()}` } });
  if (response.status === 401 || response.status === 403) throw new AuthError();
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const message = body.message || (body.error && body.error.message) || response.statusText;
    const retry = response.headers.get("Retry-After");
    const error = new Error(`${message}${retry ? ` (try again in ${retry} s)` : ""}`);
    error.status = response.status;
    throw error;
  }
  return body;
}

// --- small DOM helpers ------------------------------------------------------------------------
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}
function show(id, visible) { $(id).hidden = !visible; }
function fail(id, message) { $(id).textContent = message; show(id, Boolean(message)); }
// Every time shown carries its zone (the browser's own), and the exact stored value on hover.
const TIME_FORMAT = { dateStyle: "medium", timeStyle: "long" };
function when(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(undefined, TIME_FORMAT);
}
function timeEl(iso) { return el("time", { datetime: iso, title: iso, text: when(iso) }); }
function pretty(value) { return typeof value === "string" ? value : JSON.stringify(value, null, 2); }

// --- sign in ----------------------------------------------------------------------------------
async function signIn(event) {
  event.preventDefault();
  const candidate = $("api-key").value.trim();
  if (!candidate) return;
  sessionStorage.setItem(KEY, candidate);
  try {
    // Both APIs: a conversations API the browser cannot reach is said now, not later.
    await Promise.all([
      api(ingestUrl("v1/conversations?limit=1")),
      api(conversationsUrl("api/v1/conversations?limit=1")),
    ]);
  } catch (error) {
    sessionStorage.removeItem(KEY);
    fail("sign-in-error", error instanceof AuthError
      ? "That API key was not accepted: check that it was copied whole and has not been revoked."
      : `Could not reach Parley: ${error.message}`);
    $("api-key").focus();
    return;
  }
  $("api-key").value = "";
  fail("sign-in-error", "");
  route();
}

function signOut(message) {
  sessionStorage.removeItem(KEY);
  location.hash = "#/";
  route();
  if (message) fail("sign-in-error", message);
}

// --- the list: two newest-first sources merged ------------------------------------------------
// Each source pages with its own cursor; the page shows the newest head of either buffer.
function ingestSource(filters) {
  const params = new URLSearchParams({ limit: String(PAGE) });
  for (const name of ["environment", "since", "until"]) if (filters[name]) params.set(name, filters[name]);
  if (filters.source && filters.source !== "conversations") params.set("source", filters.source);
  const skip = filters.status || filters.source === "conversations";  // ingest has no status
  return {
    buffer: [], cursor: null, done: skip,
    async fetch() {
      if (this.cursor) params.set("cursor", this.cursor);
      const page = await api(ingestUrl(`v1/conversations?${params}`));
      this.buffer.push(...page.data.map((c) => ({
        kind: "ingest", id: c.conversationId, title: null, activity: c.lastActivityAt,
        count: c.recordCount, by: null, sources: c.sources, environment: c.environment,
        status: null, insights: false,
      })));
      this.cursor = page.nextCursor;
      this.done = !page.nextCursor;
    },
  };
}

function conversationsSource(filters) {
  const params = new URLSearchParams({ limit: String(PAGE) });
  if (filters.status) params.set("status", filters.status);
  // These conversations have no environment or record source; the date range is applied here.
  const skip = filters.environment || (filters.source && filters.source !== "conversations");
  const since = filters.since || "";
  const until = filters.until ? `${filters.until}\uffff` : "\uffff";
  return {
    buffer: [], cursor: null, done: Boolean(skip),
    async fetch() {
      if (this.cursor) params.set("cursor", this.cursor);
      const page = await api(conversationsUrl(`api/v1/conversations?${params}`));
      const items = page.data.map((c) => ({
        kind: "api", id: c.id, title: c.title || c.promptName || null, activity: c.createdAt,
        count: c.messageCount, by: producer(c), sources: ["conversations API"],
        environment: null, status: c.status, insights: c.hasInsights,
      }));
      this.buffer.push(...items.filter((c) => c.activity >= since && c.activity <= until));
      this.cursor = page.pagination.nextCursor;
      // Newest first: once past `since`, nothing older can match.
      const last = items[items.length - 1];
      this.done = !this.cursor || (last !== undefined && last.activity < since);
    },
  };
}

let listing = null;

function readFilters() {
  const form = new FormData($("filters"));
  return Object.fromEntries([...form.entries()].map(([k, v]) => [k, String(v).trim()]));
}

async function startList() {
  const filters = readFilters();
  listing = { sources: [ingestSource(filters), conversationsSource(filters)] };
  $("rows").replaceChildren();
  await morePage();
}

async function morePage() {
  const mine = listing;
  fail("list-error", "");
  show("more", false);
  try {
    let shown = 0;
    while (shown < PAGE) {
      for (const source of mine.sources) if (!source.buffer.length && !source.done) await source.fetch();
      const ready = mine.sources.filter((s) => s.buffer.length);
      if (!ready.length) break;
      const newest = ready.reduce((a, b) => (a.buffer[0].activity >= b.buffer[0].activity ? a : b));
      if (mine !== listing) return;  // the filters changed meanwhile
      $("rows").append(row(newest.buffer.shift()));
      shown += 1;
    }
  } catch (error) {
    if (error instanceof AuthError) return signOut("Your API key is no longer accepted: sign in again.");
    fail("list-error", `Could not load conversations: ${error.message}`);
  }
  show("list-empty", !$("rows").children.length);
  show("more", mine.sources.some((s) => s.buffer.length || !s.done));
}

// The prompt or agent a conversations API conversation belongs to: names before ids.
function producer(c) {
  if (c.agentName || c.agentId) return `agent ${c.agentName || c.agentId}`;
  if (c.promptName || c.promptId) return `prompt ${c.promptName || c.promptId}`;
  return null;
}

// Each cell names its column (data-label): on a phone the rows are shown as cards.
function row(c) {
  const link = el("a", { href: `#/c/${c.kind}/${encodeURIComponent(c.id)}`, text: c.title || c.id });
  const status = c.status ? el("span", { class: `tag ${c.status}`, text: c.status }) : "—";
  return el("tr", {},
    el("td", { "data-label": "Conversation" }, link,
      c.insights ? el("span", { class: "tag insights", text: "insights" }) : null,
      c.title ? el("div", { class: "muted conv-id", text: c.id }) : null),
    el("td", { "data-label": "Last activity" }, timeEl(c.activity)),
    el("td", { "data-label": "Messages", text: c.count ?? "—" }),
    el("td", { "data-label": "Prompt or agent", text: c.by || "—" }),
    el("td", { "data-label": "Sources" }, c.sources.map((s) => el("span", { class: "tag", text: s }))),
    el("td", { "data-label": "Environment", text: c.environment || "—" }),
    el("td", { "data-label": "Status" }, status));
}

// --- search: GET /v1/search, snippets highlighted from their offsets ---------------------------
const SEARCH_FILTERS = ["environment", "source", "role", "model", "since", "until"];
let searching = null;  // the search on screen: its parameters and next cursor

function searchHash(q, filters) {
  const params = new URLSearchParams({ q });
  for (const name of SEARCH_FILTERS) if (filters[name]) params.set(name, filters[name]);
  return `#/search?${params}`;
}

function submitSearch(event) {
  event.preventDefault();
  const q = $("search-q").value.trim();
  if (!q) return;
  const form = new FormData($("search-filters"));
  const filters = Object.fromEntries([...form.entries()].map(([k, v]) => [k, String(v).trim()]));
  const next = searchHash(q, filters);
  if (location.hash === next) startSearch(new URLSearchParams(next.slice("#/search?".length)));
  else location.hash = next;
}

async function startSearch(params) {
  const q = params.get("q") || "";
  $("search-q").value = q;
  for (const name of SEARCH_FILTERS) $(`s-${name}`).value = params.get(name) || "";
  $("search-title").textContent = q ? `Search: ${q}` : "Search";
  $("search-results").replaceChildren();
  searching = { params: new URLSearchParams(params), cursor: null, count: 0 };
  searching.params.set("limit", String(PAGE));
  if (!q) {
    $("search-status").textContent = "Type words to search every message of this key's tenant.";
    show("search-more", false);
    return;
  }
  await moreHits();
}

async function moreHits() {
  const mine = searching;
  fail("search-error", "");
  show("search-more", false);
  $("search-status").textContent = "Searching…";
  try {
    const params = new URLSearchParams(mine.params);
    if (mine.cursor) params.set("cursor", mine.cursor);
    const page = await api(ingestUrl(`v1/search?${params}`));
    if (mine !== searching) return;  // another search started meanwhile
    for (const hit of page.data) $("search-results").append(hitItem(hit));
    mine.count += page.data.length;
    mine.cursor = page.nextCursor;
    show("search-more", Boolean(page.nextCursor));
    $("search-status").textContent = mine.count
      ? `${mine.count} matching message${mine.count === 1 ? "" : "s"}${page.nextCursor ? " so far" : ""}`
      : "No messages match.";
  } catch (error) {
    if (error instanceof AuthError) return signOut("Your API key is no longer accepted: sign in again.");
    $("search-status").textContent = "";
    fail("search-error", `Search failed: ${error.message}`);
  }
}

// The snippet as text nodes with <mark> around each [start, end) code-point range: nothing
// from the data is ever parsed as HTML.
function highlighted(snippet, ranges) {
  const chars = Array.from(snippet);
  const parts = [];
  let at = 0;
  for (const [start, end] of [...ranges].sort((a, b) => a[0] - b[0])) {
    if (start < at || end <= start || end > chars.length) continue;
    if (start > at) parts.push(document.createTextNode(chars.slice(at, start).join("")));
    parts.push(el("mark", { text: chars.slice(start, end).join("") }));
    at = end;
  }
  if (at < chars.length) parts.push(document.createTextNode(chars.slice(at).join("")));
  return parts;
}

function conversationLink(kind, conversationId, recordId) {
  const target = `#/c/${kind}/${encodeURIComponent(conversationId)}`;
  return recordId ? `${target}?m=${encodeURIComponent(recordId)}` : target;
}

function hitItem(hit) {
  const kind = hit.source === "conversations" ? "api" : "ingest";
  return el("li", { class: "hit-card", "data-record-id": hit.recordId },
    el("div", { class: "meta" },
      el("a", { href: conversationLink(kind, hit.conversationId, hit.recordId), text: hit.conversationId }),
      el("span", { class: "tag", text: hit.source }),
      hit.role ? el("span", { class: "role", text: hit.role }) : null,
      hit.environment ? el("span", { text: hit.environment }) : null,
      hit.model ? el("span", { text: hit.model }) : null,
      timeEl(hit.timestamp)),
    el("p", { class: "snippet" }, highlighted(hit.snippet || "", hit.highlights || [])));
}

// Opened from a hit: the message scrolled into view and outlined.
function markMessage(recordId) {
  if (!recordId) return;
  const item = [...$("messages").children].find((li) => li.dataset.recordId === recordId);
  if (!item) return;
  item.classList.add("hit");
  item.setAttribute("aria-current", "true");
  item.scrollIntoView({ block: "center" });
}

// --- one conversation -------------------------------------------------------------------------
async function openConversation(kind, id, recordId) {
  $("view-title").textContent = id;
  $("messages").replaceChildren();
  show("insights", false);
  show("trace", false);
  fail("view-error", "");
  $("view-meta").textContent = "Loading…";
  try {
    if (kind === "api") await showApiConversation(id);
    else if (kind === "ingest") await showIngestConversation(id);
    else await showAnyConversation(id);
    markMessage(recordId);
  } catch (error) {
    if (error instanceof AuthError) return signOut("Your API key is no longer accepted: sign in again.");
    $("view-meta").textContent = "";
    fail("view-error", `Could not load this conversation: ${error.message}`);
  }
  if (!recordId) $("view-title").focus?.();
}

// A conversation id from the lake (the dashboard): the conversations API's when it has one by
// that id, else the ingest API's.
async function showAnyConversation(id) {
  try {
    await showApiConversation(id);
  } catch (error) {
    if (error instanceof AuthError || (error.status !== 404 && error.status !== 400)) throw error;
    $("messages").replaceChildren();
    await showIngestConversation(id);
  }
}

async function showIngestConversation(id) {
  const records = [];
  let cursor = null;
  do {
    const params = new URLSearchParams({ limit: "1000" });
    if (cursor) params.set("cursor", cursor);
    const page = await api(ingestUrl(`v1/conversations/${encodeURIComponent(id)}/records?${params}`));
    records.push(...page.data);
    cursor = page.nextCursor;
  } while (cursor);
  if (!records.length) throw new Error("no records are stored under this conversation id");
  const sources = [...new Set(records.map((r) => r.message_source))].join(", ");
  $("view-meta").textContent =
    `${records.length} records · ${sources} · ${records[0].environment} · ingest API`;
  const results = new Map();  // tool_use_id → tool_result block, shown beside its tool_use
  for (const r of records) for (const b of r.content_blocks || []) {
    if (b.type === "tool_result") results.set(b.tool_use_id, b);
  }
  const subjects = new Set();
  for (const record of ordered(records)) $("messages").append(ingestRecord(record, results, subjects));
  showTrace(id, records);
}

// Vogent utterances in time order within their call; everything else as stored.
function ordered(records) {
  return [...records].sort((a, b) => {
    if (a.timestamp !== b.timestamp) return a.timestamp < b.timestamp ? -1 : 1;
    return (a.start_time_ms ?? 0) - (b.start_time_ms ?? 0);
  });
}

function roleClass(record) {
  if (record.message_source === "tool_call") return "tool";
  if (record.role === "user") return "user";
  if (record.role === "system") return "system";
  return "assistant";
}

function ingestRecord(r, results, subjects) {
  // A stored item the API could not read as a record: shown as stored, never hidden.
  if (r.undecodable) {
    return el("li", { class: "msg system", "data-record-id": r.id },
      el("div", { class: "meta" }, el("span", { class: "tag", text: "undecodable" }), el("span", { text: r.id })),
      el("details", {}, el("summary", { text: "Stored text (not readable as a record)" }), el("pre", { text: r.raw_record })));
  }
  const meta = el("div", { class: "meta" },
    el("span", { class: "role", text: r.role || r.message_source }),
    timeEl(r.timestamp),
    el("span", { class: "tag", text: r.message_source }),
    r.model ? el("span", { text: [r.provider, r.model].filter(Boolean).join(" / ") }) : null,
    tokens(r),
    r.start_time_ms !== undefined ? el("span", { text: span(r.start_time_ms, r.end_time_ms) }) : null,
    r.duration !== undefined && r.start_time_ms === undefined ? el("span", { text: `${r.duration} s call` }) : null,
    spanOf(r),
    rawToggle(r));
  const body = [];
  if (r.message_source === "email") {
    const subject = (r.email_subject || "").replace(/^(re|fwd?):\s*/i, "");
    const reply = Boolean(r.in_reply_to) || subjects.has(subject);
    subjects.add(subject);
    body.push(el("div", { class: "email-head" },
      el("div", {}, el("strong", { text: r.email_subject || "(no subject)" })),
      el("div", { text: `From ${r.email_from || "?"} to ${(r.email_to || []).join(", ") || "?"}` }),
      r.in_reply_to ? el("div", { class: "muted", text: `In reply to ${r.in_reply_to}` }) : null));
    if (reply) return el("li", { class: `msg ${roleClass(r)} reply`, "data-record-id": r.id }, meta, ...body, text(r.message));
  }
  const blocks = r.content_blocks || [];
  const toolBlock = blocks.some((b) => b.type === "tool_use" || b.type === "vogent_tool_call");
  if (r.tool_name && !toolBlock) body.push(toolCall(r.tool_name, r.tool_call_request, r.tool_call_response));
  const hasTextBlock = blocks.some((b) => b.type === "text");
  if (r.message && !hasTextBlock && !blocks.some((b) => b.type === "call_transcript")) body.push(text(r.message));
  for (const block of blocks) body.push(contentBlock(block, results));
  return el("li", { class: `msg ${roleClass(r)}`, "data-record-id": r.id }, meta, ...body);
}

function tokens(r) {
  const parts = [];
  if (r.input_tokens !== undefined) parts.push(`${r.input_tokens} in`);
  if (r.output_tokens !== undefined) parts.push(`${r.output_tokens} out`);
  if (r.reasoning_tokens !== undefined) parts.push(`${r.reasoning_tokens} reasoning`);
  return parts.length ? el("span", { text: `tokens ${parts.join(" · ")}` }) : null;
}

function span(start, end) {
  const s = (ms) => `${(ms / 1000).toFixed(1)} s`;
  return end !== undefined ? `${s(start)}–${s(end)} (${((end - start) / 1000).toFixed(1)} s)` : s(start);
}

function text(value) { return el("div", { class: "text", text: value ?? "" }); }

function toolCall(name, input, output, isError) {
  return el("div", { class: `tool-pair${isError ? " error" : ""}` },
    el("div", {}, el("span", { class: "tag", text: "tool" }), " ", el("strong", { text: name })),
    input !== undefined ? el("details", { open: true }, el("summary", { text: "input" }), el("pre", { text: pretty(input) })) : null,
    output !== undefined ? el("details", { open: true }, el("summary", { text: isError ? "error result" : "result" }), el("pre", { text: pretty(output) })) : null);
}

function contentBlock(block, results) {
  switch (block.type) {
    case "text": return text(block.text);
    case "thinking":
      return el("details", { class: "thinking" }, el("summary", { text: "Thinking" }), text(block.text));
    case "tool_use": {
      const result = results.get(block.tool_use_id);
      return toolCall(block.tool_name, block.input, result ? resultText(result) : undefined, result?.is_error);
    }
    case "tool_result":
      return el("div", { class: "muted", text: `↳ result of ${block.tool_use_id} shown with its call` });
    case "image": return image(block.source);
    case "call_transcript":
      return el("ol", { class: "turns", "aria-label": "Call transcript" }, (block.transcript || []).map((t) =>
        el("li", {}, el("span", { class: "speaker", text: t.role }), t.content)));
    case "vogent_call_transcript":
      return el("details", {}, el("summary", { text: `Full call transcript (${(block.transcript || []).length} utterances)` }),
        el("ol", { class: "turns" }, (block.transcript || []).map((t) =>
          el("li", {}, el("span", { class: "speaker", text: t.speaker }), t.text,
            el("span", { class: "muted", text: ` ${span(t.startTimeMs, t.endTimeMs)}` })))));
    case "vogent_tool_call": return toolCall(block.name, block.arguments, block.result);
    default:
      return el("details", {}, el("summary", { text: `${block.type} block` }), el("pre", { text: pretty(block) }));
  }
}

function resultText(result) {
  if (Array.isArray(result.content)) return result.content.map((p) => p.text ?? pretty(p)).join("\n");
  return result.content;
}

function image(source) {
  let src = null;
  if (typeof source === "string") src = source;
  else if (source && source.type === "url") src = source.url;
  else if (source && source.type === "base64") src = `data:${source.media_type || "image/png"};base64,${source.data}`;
  if (!src || !/^(https?:|data:image\/)/.test(src)) return el("div", { class: "muted", text: "(image)" });
  return el("img", { class: "block", src, alt: "Image from the conversation", loading: "lazy" });
}

function rawToggle(record) {
  const pre = el("pre", { hidden: true, text: JSON.stringify(record, null, 2) });
  const button = el("button", {
    type: "button", class: "ghost raw-toggle", "aria-expanded": "false",
    onclick: () => {
      pre.hidden = !pre.hidden;
      button.setAttribute("aria-expanded", String(!pre.hidden));
      button.textContent = pre.hidden ? "Raw JSON" : "Hide JSON";
    },
  }, "Raw JSON");
  // The <pre> sits after the bubble's meta line: insert it once the bubble exists.
  queueMicrotask(() => button.closest(".msg")?.append(pre));
  return button;
}

async function showApiConversation(id) {
  const c = await api(conversationsUrl(`api/v1/conversations/${encodeURIComponent(id)}`));
  $("view-meta").textContent = [`${c.messageCount} messages`, c.status, producer(c), c.llmModel,
    `created ${when(c.createdAt)}`, c.updatedAt !== c.createdAt ? `updated ${when(c.updatedAt)}` : null,
    "conversations API"].filter(Boolean).join(" · ");
  if (c.title) $("view-title").textContent = `${c.title} (${id})`;
  let insights = c.insights;
  if (!insights && c.hasInsights) {
    insights = await api(conversationsUrl(`api/v1/conversations/${encodeURIComponent(id)}/insights`));
  }
  if (insights) showInsights(insights);
  const messages = c.messages || [];
  const results = toolResults(messages);
  const shown = new Set();  // ids of tool calls already shown with their result
  messages.forEach((m, i) => {
    const record = { role: m.role, message_source: "conversation", ...m };
    const content = Array.isArray(m.content) ? m.content : null;
    const meta = el("div", { class: "meta" }, el("span", { class: "role", text: m.role }),
      el("span", { class: "muted", text: `#${i + 1}` }),
      m.timestamp ? timeEl(m.timestamp) : el("span", { class: "muted", text: "no time sent" }),
      m.model ? el("span", { text: m.model }) : null,
      usageOf(m), m.latencyMs !== undefined ? el("span", { text: `latency ${duration(m.latencyMs)}` }) : null,
      rawToggle(record));
    const blockResults = new Map((content || []).filter((b) => b.type === "tool_result").map((b) => [b.tool_use_id, b]));
    const body = content ? content.map((b) => contentBlock(b, blockResults)) : [];
    if (!content && (m.content || !m.toolCalls?.length)) body.push(text(m.content));
    for (const call of Array.isArray(m.toolCalls) ? m.toolCalls : []) body.push(apiToolCall(call, m, results, shown));
    // The lake (and so search) numbers a conversation's messages `{id}:{index}`.
    const recordId = `${id}:${i}`;
    $("messages").append(el("li", { class: `msg ${roleClass(record)}`, "data-record-id": recordId }, meta, ...body));
  });
}

// toolCalls entries are free-form: the names the common SDKs use are read (Converra/seed:
// name, arguments, result; OpenAI: function.name, function.arguments as a JSON string).
function callName(call) { return call.name ?? call.function?.name ?? call.toolName ?? call.tool_name ?? "tool call"; }
function callArguments(call) {
  const value = call.arguments ?? call.function?.arguments ?? call.input ?? call.args ?? call.parameters;
  if (typeof value !== "string") return value;
  try { return JSON.parse(value); } catch { return value; }
}
function callResult(call) { return call.result ?? call.output ?? call.response; }

// Results a later `tool` message carries for an earlier call, by the call's id: its
// toolCalls entries with a result, or its content when it names the call (toolCallId).
function toolResults(messages) {
  const results = new Map();
  for (const m of messages) {
    if (m.role !== "tool") continue;
    for (const call of Array.isArray(m.toolCalls) ? m.toolCalls : []) {
      if (call.id !== undefined && callResult(call) !== undefined) results.set(call.id, callResult(call));
    }
    const named = m.toolCallId ?? m.tool_call_id;
    if (named !== undefined && m.content) results.set(named, m.content);
  }
  return results;
}

function apiToolCall(call, message, results, shown) {
  const own = callResult(call);
  if (message.role === "tool" && call.id !== undefined && shown.has(call.id)) {
    return el("div", { class: "muted", text: `↳ result of ${call.id} shown with its call` });
  }
  const result = own !== undefined ? own : results.get(call.id);
  if (call.id !== undefined && result !== undefined) shown.add(call.id);
  const box = toolCall(callName(call), callArguments(call), result, Boolean(call.isError ?? call.is_error));
  if (call.id !== undefined) box.firstChild.append(" ", el("span", { class: "muted", text: call.id }));
  return box;
}

function usageOf(m) {
  const u = m.usage || {};
  const parts = [];
  if (u.promptTokens !== undefined) parts.push(`${u.promptTokens} in`);
  if (u.completionTokens !== undefined) parts.push(`${u.completionTokens} out`);
  if (u.totalTokens !== undefined) parts.push(`${u.totalTokens} total`);
  if (!parts.length && m.tokens !== undefined) parts.push(`${m.tokens}`);
  return parts.length ? el("span", { text: `tokens ${parts.join(" · ")}` }) : null;
}

function duration(ms) {
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  return `${ms >= 10 ? Math.round(ms * 10) / 10 : Math.round(ms * 1000) / 1000} ms`;
}

// --- a traced (OTLP) run: its spans as a tree on a timeline -----------------------------------
// Each record an OTLP span wrote carries the span's id, parent, name, start and duration in its
// metadata (otel.*). Spans without GenAI data write no record: a parent that is not stored is
// drawn as "span not stored", covering its children.
function spanOf(r) {
  const m = r.metadata || {};
  if (m["otel.duration_ms"] === undefined) return null;
  return el("span", { class: "span-note", text: `span ${m["otel.span_name"] || m["otel.span_id"]} · ${duration(m["otel.duration_ms"])}` });
}

function traceSpans(records) {
  const spans = new Map();
  for (const r of records) {
    const m = r.metadata || {};
    const id = m["otel.span_id"];
    if (!id) continue;
    let span = spans.get(id);
    if (!span) {
      const start = Date.parse(m["otel.start_time"] ?? r.timestamp);
      span = { id, parent: m["otel.parent_span_id"] || null, trace: r.trace_id || "", name: m["otel.span_name"] || id,
        start, end: start + (m["otel.duration_ms"] ?? 0), duration: m["otel.duration_ms"], record: r.id, children: [] };
      spans.set(id, span);
    }
  }
  for (const span of [...spans.values()]) {
    if (span.parent && !spans.has(span.parent)) {
      spans.set(span.parent, { id: span.parent, parent: null, trace: span.trace, name: "span not stored",
        missing: true, start: span.start, end: span.end, children: [] });
    }
    const parent = span.parent && spans.get(span.parent);
    if (parent) {
      parent.children.push(span);
      if (parent.missing) { parent.start = Math.min(parent.start, span.start); parent.end = Math.max(parent.end, span.end); }
    }
  }
  return [...spans.values()];
}

function showTrace(conversationId, records) {
  const spans = traceSpans(records);
  if (!spans.length) return;
  const t0 = Math.min(...spans.map((s) => s.start));
  const total = Math.max(Math.max(...spans.map((s) => s.end)) - t0, 1);
  const rows = [];
  const visit = (span, depth) => {
    const label = span.missing
      ? el("span", { class: "muted", text: `${span.name} (${span.id})` })
      : el("a", { href: conversationLink("ingest", conversationId, span.record), text: span.name });
    const bar = el("div", { class: `bar-fill${span.missing ? " missing" : ""}` });
    bar.style.left = `${((span.start - t0) / total) * 100}%`;
    bar.style.width = `${Math.max(((span.end - span.start) / total) * 100, 0.5)}%`;
    const name = el("div", { class: "span-name" }, label);
    name.style.paddingLeft = `${depth * 16}px`;
    rows.push(el("li", { class: "span-row", "data-span-id": span.id, "data-depth": String(depth) }, name,
      el("div", { class: "span-time", text: span.missing ? "—" : duration(span.duration ?? 0) }),
      el("div", { class: "track", "aria-hidden": "true" }, bar)));
    for (const child of [...span.children].sort((a, b) => a.start - b.start)) visit(child, depth + 1);
  };
  const roots = spans.filter((s) => !s.parent).sort((a, b) => a.start - b.start);
  for (const root of roots) visit(root, 0);
  const traces = new Set(spans.map((s) => s.trace));
  $("trace").replaceChildren(
    el("h2", { id: "trace-title", text: `Trace: ${spans.filter((s) => !s.missing).length} spans over ${duration(total)}` }),
    el("p", { class: "muted", text: `${traces.size === 1 ? "trace" : "traces"} ${[...traces].join(", ")} · starts ${when(new Date(t0).toISOString())}` }),
    el("ol", { class: "spans", "aria-label": "Spans, as a tree, on a timeline" }, rows));
  show("trace", true);
}

// Every field the insights API returns, in reading order; a field the console does not know
// yet is still shown (after these), and an empty list reads "none", never a blank.
const INSIGHT_FIELDS = [
  ["sentiment", "Sentiment"], ["sentimentScore", "Sentiment score"],
  ["taskCompleted", "Task completed"], ["topics", "Topics"], ["issues", "Issues"],
  ["summary", "Summary"], ["analyzer", "Analyzer"], ["createdAt", "Analyzed"],
];

function insightValue(name, value) {
  if (Array.isArray(value)) return value.length ? value.map(pretty).join(", ") : "none";
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (name === "sentimentScore" && typeof value === "number") return `${value > 0 ? "+" : ""}${value.toFixed(2)} (−1 … +1)`;
  if (name === "createdAt") return when(value);
  if (value === "" || value === null || value === undefined) return "none";
  return pretty(value);
}

function showInsights(insights) {
  const known = new Map(INSIGHT_FIELDS);
  const names = [...known.keys(), ...Object.keys(insights).filter((n) => !known.has(n) && n !== "conversationId")];
  const rows = [];
  for (const name of names) {
    if (!(name in insights)) continue;
    rows.push(el("dt", { text: known.get(name) || name }),
      el("dd", { "data-field": name, text: insightValue(name, insights[name]) }));
  }
  $("insights").replaceChildren(el("h2", { text: "Insights" }), el("dl", {}, rows));
  show("insights", true);
}

// --- dashboard: GET /api/v1/analytics drawn with Chart.js (vendored, docs/dashboard.md) ---------
// Every chart reads the dashboard's environment and time range; every bar and point opens the
// conversations behind it (the drill page) or the conversation itself. Labels and tooltips are
// drawn on the canvas and every table cell is text: nothing from the data is parsed as HTML.
const DAY_MS = 86_400_000;
const DEFAULT_DAYS = 30;
const DRILL_LIMIT = 100;
const NOT_SET = "(not set)";
const PALETTE = ["#0b57d0", "#e8710a", "#188038", "#a142f4", "#d93025", "#12b5cb", "#b06000", "#5f6368"];
const DASH_FILTERS = ["environment", "since", "until"];

const METRIC_LABELS = {
  conversations: "Conversations", messages: "Messages", tokens: "Tokens", cost: "Cost (US$)",
  sentiment: "Sentiment", taskCompleted: "Task completed", latencyMs: "Average latency",
};

function formatValue(metric, value, perConversation = false) {
  if (value === null || value === undefined) return "—";
  switch (metric) {
    case "cost": return `$${value.toFixed(value >= 1 ? 2 : 4)}`;
    case "sentiment": return `${value > 0 ? "+" : ""}${value.toFixed(2)}`;
    case "taskCompleted":
      return perConversation ? (value >= 1 ? "yes" : "no") : `${Math.round(value * 100)} %`;
    case "latencyMs": return `${Math.round(value).toLocaleString("en-US")} ms`;
    default: return Math.round(value).toLocaleString("en-US");
  }
}

const isoDay = (time) => new Date(time).toISOString().slice(0, 10);

// A day from the address, or null when it is not one (an edited link): the default applies.
function dayParam(params, name) {
  const value = params.get(name) || "";
  return /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(Date.parse(value)) ? value : null;
}

function dashboardContext(params) {
  const until = dayParam(params, "until") || isoDay(Date.now());
  const since = dayParam(params, "since") || isoDay(Date.parse(until) - (DEFAULT_DAYS - 1) * DAY_MS);
  return { environment: params.get("environment") || "", since, until };
}

function everyDay(since, until) {
  const days = [];
  for (let t = Date.parse(since); t <= Date.parse(until) && days.length <= 366; t += DAY_MS) days.push(isoDay(t));
  return days;
}

function analyticsUrl(query) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value) params.set(name, value);
  return conversationsUrl(`api/v1/analytics?${params}`);
}

// The drill page's hash: the dashboard's filters, then the clicked bar's (a null group value
// — e.g. no environment — adds no filter).
function drillHash(context, metric, filters, sort) {
  const params = new URLSearchParams({ metric });
  for (const name of DASH_FILTERS) if (context[name]) params.set(name, context[name]);
  for (const [name, value] of Object.entries(filters)) if (value !== null && value !== undefined) params.set(name, value);
  if (sort) params.set("sort", sort);
  return `#/drill?${params}`;
}
const conversationHash = (id) => `#/c/any/${encodeURIComponent(id)}`;

// The cards in page order: day charts (one dataset per value of `series`, stacked, or one
// line), ranked bars, and the clusters card.
const DASH_CHARTS = [
  {
    id: "volume-environment", title: "Conversations per day by environment", shape: "stacked",
    query: { metric: "conversations", groupBy: "day,environment" }, series: "environment",
    target: (ctx, row) => drillHash(ctx, "messages", { since: row.day, until: row.day, environment: row.environment }),
  },
  {
    id: "volume-source", title: "Conversations per day by source", shape: "stacked",
    query: { metric: "conversations", groupBy: "day,source" }, series: "source",
    target: (ctx, row) => drillHash(ctx, "messages", { since: row.day, until: row.day, source: row.source }),
  },
  {
    id: "tokens-model", title: "Tokens by model", shape: "ranked",
    query: { metric: "tokens", groupBy: "model" }, label: "model",
    target: (ctx, row) => drillHash(ctx, "tokens", { model: row.model }),
  },
  { id: "clusters", title: "Top clusters", clusters: true },  // GET /api/v1/clusters
  {
    id: "sentiment", title: "Average sentiment per day (−1 … +1)", shape: "line", min: -1, max: 1,
    query: { metric: "sentiment", groupBy: "day" },
    // The day's conversations, least satisfied first.
    target: (ctx, row) => drillHash(ctx, "sentiment", { since: row.day, until: row.day }, "value"),
  },
  {
    id: "task-completion", title: "Task completion per day", shape: "line", min: 0, max: 1,
    query: { metric: "taskCompleted", groupBy: "day" },
    target: (ctx, row) => drillHash(ctx, "taskCompleted", { since: row.day, until: row.day }, "value"),
  },
  {
    id: "slowest", title: "Slowest conversations (average latency)", shape: "ranked",
    query: { metric: "latencyMs", groupBy: "conversationId", sort: "-value", limit: "10" }, label: "conversationId",
    target: (ctx, row) => conversationHash(row.conversationId),
  },
  {
    id: "expensive", title: "Most expensive conversations", shape: "ranked",
    query: { metric: "cost", groupBy: "conversationId", sort: "-value", limit: "10" }, label: "conversationId",
    target: (ctx, row) => conversationHash(row.conversationId),
  },
];

let drawn = [];  // the Chart instances on screen: destroyed before the next drawing
let dashboardRun = null;  // the drawing in progress (a newer one makes older answers stale)

function submitDashboard(event) {
  event.preventDefault();
  const params = new URLSearchParams();
  for (const name of DASH_FILTERS) {
    const value = $(`d-${name}`).value.trim();
    if (value) params.set(name, value);
  }
  const next = `#/?${params}`;
  if (location.hash === next) route();
  else location.hash = next;
}

async function drawDashboard(params) {
  const context = dashboardContext(params);
  const run = {};
  dashboardRun = run;
  for (const name of DASH_FILTERS) $(`d-${name}`).value = context[name];
  $("dash-range").textContent = `${context.since} to ${context.until} (UTC)` +
    (context.environment ? ` · environment ${context.environment}` : " · every environment");
  for (const chart of drawn) chart.destroy();
  drawn = [];
  const figures = DASH_CHARTS.map((spec) => chartFigure(spec.id, spec.title));
  $("charts").replaceChildren(...figures.map((f) => f.figure));
  const jobs = DASH_CHARTS.map(async (spec, i) => {
    const figure = figures[i];
    if (spec.clusters) return clustersCard(figure, context, run);
    try {
      const query = { ...spec.query, environment: context.environment, since: context.since, until: context.until };
      const { data } = await api(analyticsUrl(query));
      if (run === dashboardRun) plot(spec, figure, data, context);
    } catch (error) {
      if (error instanceof AuthError) throw error;
      if (run === dashboardRun) figureMessage(figure, `Could not load this chart: ${error.message}`, true);
    }
  });
  try {
    await Promise.all(jobs);
  } catch (error) {
    if (error instanceof AuthError) signOut("Your API key is no longer accepted: sign in again.");
  }
}

function chartFigure(id, title) {
  const canvas = el("canvas", { role: "img", "aria-label": title });
  const status = el("p", { class: "muted chart-status", role: "status", text: "Loading…" });
  const table = el("table", { class: "chart-data" });
  const figure = el("figure", { class: "card chart", id: `chart-${id}`, "data-chart": id },
    el("h2", { text: title }),
    el("div", { class: "plot", hidden: true }, canvas),  // shown once drawn
    status,
    el("details", { hidden: true }, el("summary", { text: "Data table" }), table));  // once filled
  return { figure, canvas, status, table };
}

function figureMessage(figure, message, isError = false) {
  figure.status.textContent = message;
  figure.status.className = isError ? "error chart-status" : "muted chart-status";
  figure.status.hidden = !message;
  figure.figure.querySelector(".plot").hidden = Boolean(message);
}

function plot(spec, figure, rows, context) {
  const metric = spec.query.metric;
  const labels = [];
  const datasets = [];
  const targets = [];  // [dataset][index] → hash
  const tableRows = [];  // [[cells…], hash]
  if (spec.shape === "ranked") {
    // Nothing to rank in a zero (no tokens, unpriced): the bars are what there is to see.
    const ranked = rows.filter((r) => r.value > 0).sort((a, b) => b.value - a.value);
    labels.push(...ranked.map((r) => r[spec.label] ?? NOT_SET));
    datasets.push({ label: METRIC_LABELS[metric], data: ranked.map((r) => r.value), backgroundColor: PALETTE[0] });
    targets.push(ranked.map((r) => spec.target(context, r)));
    for (const r of ranked) tableRows.push([[r[spec.label] ?? NOT_SET, formatValue(metric, r.value)], spec.target(context, r)]);
  } else {
    const days = everyDay(context.since, context.until);
    labels.push(...days);
    if (spec.shape === "stacked") {
      const totals = new Map();
      for (const r of rows) totals.set(r[spec.series], (totals.get(r[spec.series]) || 0) + r.value);
      const names = [...totals.keys()].sort((a, b) => totals.get(b) - totals.get(a));
      names.forEach((name, n) => {
        const byDay = new Map(rows.filter((r) => r[spec.series] === name).map((r) => [r.day, r]));
        datasets.push({
          label: name ?? NOT_SET, data: days.map((d) => byDay.get(d)?.value ?? 0),
          backgroundColor: PALETTE[n % PALETTE.length], stack: "volume",
        });
        targets.push(days.map((d) => spec.target(context, { day: d, [spec.series]: name })));
      });
      for (const r of rows) tableRows.push([[r.day, r[spec.series] ?? NOT_SET, formatValue(metric, r.value)], spec.target(context, r)]);
    } else {
      const byDay = new Map(rows.map((r) => [r.day, r]));
      datasets.push({
        label: METRIC_LABELS[metric], data: days.map((d) => byDay.get(d)?.value ?? null),
        borderColor: PALETTE[0], backgroundColor: PALETTE[0], spanGaps: true,
        pointRadius: 4, pointHitRadius: 14,
      });
      targets.push(days.map((d) => spec.target(context, { day: d })));
      for (const r of rows) {
        if (r.value === null) continue;
        tableRows.push([[r.day, formatValue(metric, r.value), `${r.conversations} conversations`], spec.target(context, r)]);
      }
    }
  }
  fillTable(figure.table, tableRows);
  if (!tableRows.length) return figureMessage(figure, "No data in this range.");
  figureMessage(figure, "");
  drawn.push(chartOf(figure.canvas, spec, labels, datasets, targets));
}

function fillTable(table, rows) {
  table.closest("details").hidden = !rows.length;
  table.replaceChildren(...rows.map(([cells, hash]) => el("tr", {},
    cells.map((cell, i) => el("td", {}, i === 0 ? el("a", { href: hash, text: cell }) : cell)))));
}

// A long label (a conversation id) is cut on the axis; the tooltip and the table show it whole.
const shortLabel = (text, room) => (text.length > room ? `${text.slice(0, room - 1)}…` : text);

function chartOf(canvas, spec, labels, datasets, targets) {
  const metric = spec.query.metric;
  const horizontal = spec.shape === "ranked";
  const narrow = window.matchMedia("(max-width: 600px)").matches;
  const valueAxis = {
    beginAtZero: true, min: spec.min, max: spec.max, stacked: spec.shape === "stacked",
    // Counts have whole-number ticks only.
    ticks: { precision: metric === "cost" || spec.min !== undefined ? undefined : 0,
      callback: (value) => formatValue(metric, value) },
  };
  const labelAxis = {
    stacked: spec.shape === "stacked",
    ticks: {
      autoSkip: true, maxRotation: 0,
      callback(value) { return shortLabel(String(this.getLabelForValue(value)), narrow ? 12 : 22); },
    },
  };
  return new window.Chart(canvas, {
    type: spec.shape === "line" ? "line" : "bar",
    data: { labels, datasets },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      indexAxis: horizontal ? "y" : "x",
      interaction: { mode: "nearest", intersect: true },
      scales: horizontal ? { x: valueAxis, y: labelAxis } : { x: labelAxis, y: valueAxis },
      plugins: {
        legend: { display: spec.shape === "stacked", position: "bottom", labels: { boxWidth: 12 } },
        tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${formatValue(metric, item.raw)}` } },
      },
      onHover: (event, elements) => { canvas.style.cursor = elements.length ? "pointer" : "default"; },
      onClick: (event, elements) => {
        const [hit] = elements;
        if (hit) location.hash = targets[hit.datasetIndex][hit.index];
      },
    },
  });
}

// --- clusters (GET /api/v1/clusters) ---------------------------------------------------------
const TOP_CLUSTERS = 8;

// A cluster's trend as short text. The clusters API gives {last7Days, previous7Days, change}:
// `change` is the relative change between the two weeks, null when the earlier one had none.
function trendText(trend) {
  if (!trend || typeof trend !== "object") return "—";
  const { change, last7Days: last } = trend;
  if (typeof change === "number") {
    const percent = Math.round(change * 100);
    return `${percent > 0 ? "↑ +" : percent < 0 ? "↓ " : "→ "}${percent} %`;
  }
  return last ? "new this week" : "quiet";
}

function trendDetail(trend) {
  if (!trend || typeof trend !== "object") return "";
  return ` (${trend.last7Days ?? 0} in the last 7 days, ${trend.previous7Days ?? 0} the 7 before)`;
}

function clusterHash(context, id) {
  const params = new URLSearchParams();
  for (const name of DASH_FILTERS) if (context[name]) params.set(name, context[name]);
  return `#/clusters/${encodeURIComponent(id)}?${params}`;
}

async function clustersCard(figure, context, run) {
  let body;
  try {
    body = await api(conversationsUrl(`api/v1/clusters?${new URLSearchParams(
      Object.entries(context).filter(([, v]) => v))}`));
  } catch (error) {
    if (error instanceof AuthError) throw error;
    if (run !== dashboardRun) return;
    if (error.status === 404) return figureMessage(figure, "Clusters are not available on this server yet.");
    return figureMessage(figure, `Could not load clusters: ${error.message}`, true);
  }
  if (run !== dashboardRun) return;
  const top = [...(body.data || [])].sort((a, b) => b.size - a.size).slice(0, TOP_CLUSTERS);
  const hashes = top.map((c) => clusterHash(context, c.id));
  fillTable(figure.table, top.map((c, i) => [
    [c.label, `${c.size} conversations`, `${trendText(c.trend)}${trendDetail(c.trend)}`], hashes[i]]));
  if (!top.length) return figureMessage(figure, "No clusters in this range.");
  figureMessage(figure, "");
  const spec = { shape: "ranked", query: { metric: "conversations" } };
  const labels = top.map((c) => `${c.label} (${trendText(c.trend)})`);
  const datasets = [{ label: "Conversations", data: top.map((c) => c.size), backgroundColor: PALETTE[3] }];
  drawn.push(chartOf(figure.canvas, spec, labels, datasets, [hashes]));
}

let clusterShown = null;  // the cluster page on screen: its id, filters and next cursor

async function openCluster(id, params) {
  $("cluster-title").textContent = "Cluster";
  $("cluster-meta").textContent = "Loading…";
  $("cluster-members").replaceChildren();
  clusterShown = { id, params, cursor: null };
  await moreMembers();
}

async function moreMembers() {
  const mine = clusterShown;
  fail("cluster-error", "");
  show("cluster-more", false);
  try {
    // A cluster belongs to one environment already: the API takes the range, not the filter.
    const params = new URLSearchParams({ limit: String(PAGE) });
    for (const name of ["since", "until"]) if (mine.params.get(name)) params.set(name, mine.params.get(name));
    if (mine.cursor) params.set("cursor", mine.cursor);
    const cluster = await api(conversationsUrl(`api/v1/clusters/${encodeURIComponent(mine.id)}?${params}`));
    if (mine !== clusterShown) return;
    $("cluster-title").textContent = cluster.label || mine.id;
    $("cluster-meta").textContent = [`${cluster.size} conversations`,
      `trend ${trendText(cluster.trend)}${trendDetail(cluster.trend)}`,
      cluster.environment ? `environment ${cluster.environment}` : null].filter(Boolean).join(" · ");
    for (const member of cluster.members || []) {
      $("cluster-members").append(el("li", {},
        el("a", { href: conversationHash(member.conversationId), text: member.conversationId })));
    }
    mine.cursor = cluster.pagination?.nextCursor ?? null;
    show("cluster-more", Boolean(mine.cursor));
  } catch (error) {
    if (error instanceof AuthError) return signOut("Your API key is no longer accepted: sign in again.");
    $("cluster-meta").textContent = "";
    fail("cluster-error", `Could not load this cluster: ${error.message}`);
  }
}

// --- the drill page: the conversations behind a bar, from the same analytics ------------------
const DRILL_FILTERS = ["environment", "source", "model", "since", "until"];
let drilling = null;

async function openDrill(params) {
  const metric = params.get("metric") || "messages";
  const sort = params.get("sort") === "value" ? "value" : "-value";
  const query = { metric, groupBy: "conversationId", sort, limit: String(DRILL_LIMIT) };
  const described = [];
  for (const name of DRILL_FILTERS) {
    const value = params.get(name);
    if (!value) continue;
    query[name] = value;
    if (name !== "since" && name !== "until") described.push(`${name} ${value}`);
  }
  const since = params.get("since");
  const until = params.get("until");
  if (since || until) described.unshift(since === until ? since : `${since || "…"} to ${until || "now"}`);
  const order = sort === "value" ? "lowest first" : "highest first";
  $("drill-title").textContent = `Conversations by ${METRIC_LABELS[metric]?.toLowerCase() || metric}`;
  $("drill-filters").textContent = `${described.join(" · ") || "every conversation"} — ${order}`;
  $("drill-metric").textContent = METRIC_LABELS[metric] || metric;
  $("drill-back").href = params.get("environment") ? `#/?environment=${encodeURIComponent(params.get("environment"))}` : "#/";
  $("drill-rows").replaceChildren();
  fail("drill-error", "");
  show("drill-empty", false);
  show("drill-more", false);
  const mine = {};
  drilling = mine;
  try {
    const { data } = await api(analyticsUrl(query));
    if (mine !== drilling) return;
    for (const r of data) {
      $("drill-rows").append(el("tr", {},
        el("td", {}, el("a", { href: conversationHash(r.conversationId), text: r.conversationId })),
        el("td", { text: formatValue(metric, r.value, true) })));
    }
    show("drill-empty", !data.length);
    $("drill-more").textContent = `The first ${DRILL_LIMIT}: narrow the range to see the others.`;
    show("drill-more", data.length === DRILL_LIMIT);
  } catch (error) {
    if (error instanceof AuthError) return signOut("Your API key is no longer accepted: sign in again.");
    fail("drill-error", `Could not load these conversations: ${error.message}`);
  }
}

// --- routing ----------------------------------------------------------------------------------
function route() {
  const signedIn = Boolean(key());
  show("sign-in", !signedIn);
  show("sign-out", signedIn);
  show("who", signedIn);
  show("search-form", signedIn);
  show("nav", signedIn);
  $("who").textContent = "Signed in";
  const hash = location.hash;
  const match = hash.match(/^#\/c\/(ingest|api|any)\/([^?]+)(?:\?m=(.+))?$/);
  const query = hash.match(/^#\/search(?:\?(.*))?$/);
  const drill = hash.match(/^#\/drill(?:\?(.*))?$/);
  const cluster = hash.match(/^#\/clusters\/([^?]+)(?:\?(.*))?$/);
  const list = /^#\/conversations(?:\?.*)?$/.test(hash);
  const dashboard = !match && !query && !drill && !cluster && !list;
  show("dashboard", signedIn && dashboard);
  show("list", signedIn && list);
  show("view", signedIn && Boolean(match));
  show("search", signedIn && Boolean(query));
  show("drill", signedIn && Boolean(drill));
  show("cluster", signedIn && Boolean(cluster));
  $("nav-dashboard").toggleAttribute("aria-current", dashboard);
  $("nav-conversations").toggleAttribute("aria-current", list);
  if (!signedIn) return $("api-key").focus();
  if (match) {
    const recordId = match[3] ? decodeURIComponent(match[3]) : null;
    return openConversation(match[1], decodeURIComponent(match[2]), recordId);
  }
  if (query) return startSearch(new URLSearchParams(query[1] || ""));
  if (drill) return openDrill(new URLSearchParams(drill[1] || ""));
  if (cluster) return openCluster(decodeURIComponent(cluster[1]), new URLSearchParams(cluster[2] || ""));
  if (list) { if (!listing) startList(); return undefined; }
  const params = hash.match(/^#\/?\?(.*)$/);
  return drawDashboard(new URLSearchParams(params ? params[1] : ""));
}

$("sign-in-form").addEventListener("submit", signIn);
$("sign-out").addEventListener("click", () => { listing = null; signOut(); });
$("filters").addEventListener("submit", (event) => { event.preventDefault(); startList(); });
$("more").addEventListener("click", morePage);
$("dash-filters").addEventListener("submit", submitDashboard);
$("cluster-more").addEventListener("click", moreMembers);
$("search-form").addEventListener("submit", submitSearch);
$("search-filters").addEventListener("submit", submitSearch);
$("search-more").addEventListener("click", moreHits);
$("copy-link").addEventListener("click", async () => {
  try {
    await navigator.clipboard.writeText(location.href);  // the page's URL never holds the key
    $("copied").textContent = "Link copied";
  } catch {
    $("copied").textContent = location.href;
  }
});
window.addEventListener("hashchange", route);
route();
