/*
 * Rare Cancer Assistant: the embeddable patient chat widget.
 *
 *   <script src="https://HOST/widget.js" data-server="https://HOST"></script>
 *
 * data-server: where messages go (Rasa's REST channel, POST /webhooks/rest/webhook).
 * data-documents (optional, defaults to data-server): this project's server, for document links,
 * export, delete and feedback, so data-server may be a plain Rasa server.
 *
 * Safety rules this file keeps: every text from the server or the user reaches the page through
 * textContent (never parsed as markup), only http(s) URLs become links, and the whole widget lives
 * in a shadow root with its own stylesheet, so no CSS leaks in either direction and no inline style
 * is needed (host pages may forbid 'unsafe-inline').
 */
(function () {
  "use strict";

  const script = document.currentScript;
  if (!script || !window.fetch || !Element.prototype.attachShadow) return;
  if (document.querySelector("[data-rca-widget]")) return;  // the tag was included twice

  const SERVER = baseUrl(script.getAttribute("data-server")) || baseUrl(new URL(script.src).origin);
  const DOCUMENTS = baseUrl(script.getAttribute("data-documents")) || SERVER;
  const STYLESHEET = new URL("widget.css", script.src).href;  // served beside widget.js
  const STORE_KEY = "rca-widget:v1:" + SERVER;
  const MAX_CHARS = 1000;
  const MAX_ENTRIES = 80;  // transcript entries kept in localStorage
  const TIMEOUT_MS = 60000;
  const DISCLAIMER = "Information from trusted sources, not medical advice. " +
    "In an emergency, call your local emergency number.";
  const SUGGESTIONS = ["What is a rare cancer?", "Find a clinical trial", "Find a patient organisation"];
  // How current a source is: each date labelled for what it is, never one for another (server/dates.py).
  const DATE_LABELS = [["last_reviewed", "Last reviewed"], ["last_updated", "Record last updated"], ["retrieved", "Retrieved"]];
  const NOTE_LINK = "Check the publisher's current page";
  const FIT_NOTE = "\u2713 fits what you told me, \u2717 does not, ? not known. " +
    "Only the study team can say whether someone can take part.";
  const SVG_NS = "http://www.w3.org/2000/svg";
  const ICONS = {  // Material Design icon paths (Apache 2.0)
    chat: "M20 2H4c-1.1 0-2 .9-2 2v18l4-4h14c1.1 0 2-.9 2-2V4c0-1.1-.9-2-2-2zm0 14H6l-2 2V4h16v12z",
    close: "M19 6.41 17.59 5 12 10.59 6.41 5 5 6.41 10.59 12 5 17.59 6.41 19 12 13.41 17.59 19 19 17.59 13.41 12z",
    send: "M2.01 21 23 12 2.01 3 2 10l15 2-15 2z",
    up: "M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 7.59 7.59C7.22 7.95 " +
      "7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z",
    down: "M15 3H6c-.83 0-1.54.5-1.84 1.22l-3.02 7.05c-.09.23-.14.47-.14.73v2c0 1.1.9 2 2 2h6.31l-.95 4.57-.03.32c0 " +
      ".41.17.79.44 1.06L9.83 23l6.59-6.59c.36-.36.58-.86.58-1.41V5c0-1.1-.9-2-2-2zm4 0v12h4V3h-4z",
  };

  /* ---------- small helpers ---------- */

  function baseUrl(value) {
    // An absolute http(s) URL without a trailing slash, or "" when the value is not one.
    if (!value) return "";
    try {
      const url = new URL(value, document.baseURI);
      if (url.protocol !== "http:" && url.protocol !== "https:") return "";
      return (url.origin + url.pathname).replace(/\/+$/, "");
    } catch (err) {
      return "";
    }
  }

  function safeHref(value) {
    // Only http(s) URLs ever become links: document text and records could be hostile.
    if (typeof value !== "string" || !value) return null;
    try {
      const url = new URL(value);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (err) {
      return null;
    }
  }

  function websiteHref(value) {
    // Organisation records may give a bare domain such as www.example.org, as their source does.
    if (typeof value === "string" && /^[a-z0-9-]+(\.[a-z0-9-]+)+(\/\S*)?$/i.test(value)) return safeHref("https://" + value);
    return safeHref(value);
  }

  function passageUrl(citation) {
    // The project's document page with the cited passage highlighted (#passage scrolls to it).
    if (!isObject(citation) || typeof citation.doc_id !== "string" || !citation.doc_id) return null;
    let url = DOCUMENTS + "/documents/" + encodeURIComponent(citation.doc_id);
    const { start, end } = citation;
    if (Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start < end) url += "?start=" + start + "&end=" + end;
    return safeHref(url + "#passage");
  }

  function isObject(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }

  function texts(value) {
    // A list of non-empty strings from a field that should be one.
    return Array.isArray(value) ? value.filter((item) => typeof item === "string" && item.trim()) : [];
  }

  function str(value) {
    return typeof value === "string" ? value.trim() : "";
  }

  function el(tag, className, text, attributes) {
    // The one way this file makes elements: text only ever through textContent.
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value !== null && value !== undefined && value !== false) node.setAttribute(name, value);
    }
    return node;
  }

  function button(className, text, onClick, attributes) {
    const node = el("button", className, text, Object.assign({ type: "button" }, attributes));
    if (onClick) node.addEventListener("click", onClick);
    return node;
  }

  function link(href, text, label) {
    return el("a", "link", text, { href: href, target: "_blank", rel: "noopener noreferrer", "aria-label": label || null });
  }

  function icon(name) {
    const svg = document.createElementNS(SVG_NS, "svg");
    const path = document.createElementNS(SVG_NS, "path");
    for (const [key, value] of [["viewBox", "0 0 24 24"], ["aria-hidden", "true"], ["focusable", "false"], ["class", "icon"]]) {
      svg.setAttribute(key, value);
    }
    path.setAttribute("d", ICONS[name]);
    svg.appendChild(path);
    return svg;
  }

  function formatDate(value) {
    // "2023-10-17" -> "17 October 2023"; anything else is shown as given.
    if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return value;
    const date = new Date(value + "T00:00:00Z");
    if (isNaN(date.getTime())) return value;
    return date.toLocaleDateString("en-GB", { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });
  }

  function capitalise(value) {
    return value ? value.charAt(0).toUpperCase() + value.slice(1) : value;
  }

  function newSessionId() {
    // 24 random letters and digits (rejection sampling keeps the choice uniform).
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    const bytes = crypto.getRandomValues(new Uint8Array(64));
    let id = "";
    for (const byte of bytes) {
      if (byte < 248 && id.length < 24) id += alphabet[byte % 62];
    }
    return id.length === 24 ? id : newSessionId();
  }

  /* ---------- saved state: session id, open/closed, and the rendered transcript ---------- */

  function loadState() {
    let saved = null;
    try {
      saved = JSON.parse(window.localStorage.getItem(STORE_KEY) || "null");
    } catch (err) { /* storage blocked or corrupt: start afresh */ }
    if (!isObject(saved) || !/^[A-Za-z0-9]{16,64}$/.test(String(saved.sessionId))) {
      return { sessionId: newSessionId(), open: false, entries: [] };
    }
    const entries = Array.isArray(saved.entries) ? saved.entries.filter(validEntry).slice(-MAX_ENTRIES) : [];
    return { sessionId: saved.sessionId, open: saved.open === true, entries: entries };
  }

  function validEntry(entry) {
    if (!isObject(entry)) return false;
    if (entry.kind === "user") return typeof entry.text === "string";
    return entry.kind === "bot" && isObject(entry.message);
  }

  function saveState() {
    const entries = state.entries.slice(-MAX_ENTRIES);
    for (const keep of [entries.length, 10, 0]) {  // when storage is full, keep fewer entries
      try {
        window.localStorage.setItem(STORE_KEY, JSON.stringify({
          sessionId: state.sessionId, open: state.open, entries: entries.slice(entries.length - keep),
        }));
        return;
      } catch (err) { /* try again with less, or carry on without saving (private browsing) */ }
    }
  }

  /* ---------- talking to the servers ---------- */

  async function request(method, url, body) {
    // JSON in and out; throws {status, retryAfter, message} for HTTP errors and {status: 0} offline.
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
    let response;
    try {
      response = await fetch(url, {
        method: method, mode: "cors", credentials: "omit", signal: controller.signal,
        headers: body ? { "Content-Type": "application/json" } : {},
        body: body ? JSON.stringify(body) : undefined,
      });
    } catch (err) {
      throw { status: 0 };
    } finally {
      clearTimeout(timer);
    }
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      const error = isObject(data) && isObject(data.error) ? data.error : {};
      throw { status: response.status, retryAfter: response.headers.get("Retry-After"), message: str(error.message) };
    }
    return data;
  }

  function friendlyError(error) {
    const status = error && error.status;
    if (!status) return "I couldn't reach the assistant. Please check your connection and try again.";
    if (status === 429) {
      // Retry-After may be hidden from cross-origin pages; the server's message says the same.
      const fromMessage = /(\d+) seconds?/.exec(error.message || "");
      const seconds = parseInt(error.retryAfter, 10) || (fromMessage && parseInt(fromMessage[1], 10)) || 30;
      return "Too many messages. Please wait " + seconds + " second" + (seconds === 1 ? "" : "s") + " and try again.";
    }
    if (status === 400 && error.message) return "Sorry, that message could not be sent: " + error.message;
    if (status === 413) return "That message is too long. Please shorten it and try again.";
    if (status >= 500) return "Something went wrong on our side. Please try again in a moment.";
    return "Sorry, something went wrong (error " + status + "). Please try again.";
  }

  /* ---------- rendering messages ---------- */

  function renderUser(text) {
    const item = el("div", "msg user");
    item.append(el("span", "visually-hidden", "You said: "), el("p", "text", text));
    return item;
  }

  function renderNotice(text, kind) {
    const item = el("div", "msg notice " + kind);
    item.appendChild(el("p", "text", text));
    return item;
  }

  function renderIntro() {
    const item = el("div", "msg bot intro");
    item.appendChild(el("p", "text", "Hello. I answer questions about rare cancers from trusted sources such as the " +
      "US National Cancer Institute, and help you find clinical trials and patient organisations. " +
      "Every answer shows its sources. For advice about your own care, please talk to your care team."));
    item.appendChild(renderButtons(SUGGESTIONS.map((text) => ({ title: text, payload: text }))));
    return item;
  }

  function renderBot(entry) {
    const message = entry.message;
    const custom = isObject(message.custom) ? message.custom : {};  // a plain Rasa reply has none
    const citations = Array.isArray(custom.citations) ? custom.citations.filter(isObject) : [];
    const item = el("div", "msg bot");
    item.appendChild(el("span", "visually-hidden", "Assistant: "));
    const sources = citations.length ? renderSources(citations) : null;
    const trials = Array.isArray(custom.trials) ? custom.trials.filter(isObject) : [];
    const organisations = Array.isArray(custom.organisations) ? custom.organisations.filter(isObject) : [];
    if (str(message.text)) item.appendChild(renderText(leadOnly(message.text, trials.length + organisations.length), sources));
    if (trials.length) item.appendChild(renderCards(trials, renderTrial, "Clinical trials"));
    if (trials.some((trial) => Array.isArray(trial.fit) && trial.fit.length)) item.appendChild(el("p", "fit-note", FIT_NOTE));
    if (organisations.length) item.appendChild(renderCards(organisations, renderOrganisation, "Organisations"));
    if (sources) item.appendChild(sources);
    if (Array.isArray(message.buttons) && message.buttons.length) item.appendChild(renderButtons(message.buttons));
    if (str(custom.message_id)) item.appendChild(renderFeedback(entry, custom.message_id));
    return item;
  }

  function leadOnly(text, cards) {
    // A reply that lists its cards as "- ..." lines shows only its first line: the cards say the rest.
    const lines = text.trim().split("\n");
    const listed = lines.length - 1 === cards && lines.slice(1).every((line) => line.startsWith("- "));
    return cards && listed ? lines[0] : text;
  }

  function renderText(text, sources) {
    // Markers like [1] become small buttons that open the matching source card.
    const paragraph = el("p", "text");
    const cards = sources ? sources.querySelectorAll("details") : [];
    const pattern = /\[(\d{1,3})\]/g;
    let last = 0;
    let match;
    while ((match = pattern.exec(text))) {
      const card = cards[Number(match[1]) - 1];
      if (!card) continue;  // not a citation marker: leave it as text
      paragraph.appendChild(document.createTextNode(text.slice(last, match.index)));
      paragraph.appendChild(button("ref", match[1], () => {
        card.open = true;
        card.firstChild.focus();
        card.scrollIntoView({ block: "nearest" });
      }, { "aria-label": "Show source " + match[1] }));
      last = pattern.lastIndex;
    }
    paragraph.appendChild(document.createTextNode(text.slice(last)));
    return paragraph;
  }

  function renderSources(citations) {
    const box = el("div", "sources");
    const list = el("ol", "source-list");
    citations.forEach((citation, index) => list.appendChild(renderCitation(citation, index + 1)));
    box.append(el("p", "sources-title", citations.length === 1 ? "Source" : "Sources"), list);
    return box;
  }

  function renderCitation(citation, number) {
    const item = el("li", "source");
    const details = el("details");
    const summary = el("summary");
    const head = el("span", "source-head");
    head.appendChild(el("span", "source-title", str(citation.title) || "Untitled source"));
    if (str(citation.publisher)) head.appendChild(el("span", "source-publisher", citation.publisher));
    summary.append(el("span", "num", String(number)), head);
    details.appendChild(summary);
    const body = el("div", "source-body");
    if (str(citation.section)) body.appendChild(el("p", "meta", "Section: " + citation.section));
    for (const [key, label] of DATE_LABELS) {
      if (str(citation[key])) body.appendChild(el("p", "meta", label + " " + formatDate(citation[key])));
    }
    if (str(citation.date_note)) body.appendChild(renderDateNote(citation));
    if (str(citation.quote)) body.appendChild(el("blockquote", "quote", citation.quote));
    const links = el("p", "links");
    const passage = passageUrl(citation);
    if (passage) links.appendChild(link(passage, "Open the passage"));
    const original = safeHref(citation.url);
    if (original) links.appendChild(link(original, "Original page"));
    if (links.firstChild) body.appendChild(links);
    details.appendChild(body);
    item.appendChild(details);
    return item;
  }

  function renderDateNote(citation) {
    // The note, its closing "Check the publisher's current page" (added if missing) linked to the source.
    const note = citation.date_note;
    const paragraph = el("p", "meta date-note");
    const original = safeHref(citation.url);
    if (!original) {
      paragraph.textContent = note;
      return paragraph;
    }
    const bare = note.replace(/[.\s]+$/, "");
    const before = bare.endsWith(NOTE_LINK) ? bare.slice(0, -NOTE_LINK.length) : note + " ";
    paragraph.append(document.createTextNode(before), link(original, NOTE_LINK), ".");
    return paragraph;
  }

  function renderCards(records, renderOne, label) {
    const list = el("ul", "cards", "", { "aria-label": label });
    records.forEach((record) => list.appendChild(renderOne(record)));
    return list;
  }

  function fact(list, name, value) {
    if (!value) return;
    list.append(el("dt", "", name), el("dd", "", value));
  }

  function cardLinks(card, title, pairs) {
    // pairs: [href or null, text]; the source link carries the card's title for screen readers.
    const links = el("p", "links");
    for (const [href, text] of pairs) {
      if (href) links.appendChild(link(href, text, text === "Source" ? "Source for " + title : null));
    }
    if (links.firstChild) card.appendChild(links);
  }

  function renderTrial(trial) {
    // Curated records and registry studies share the card; a registry study adds its last update, which
    // of its criteria fit what the person said, its quoted eligibility lines and its page on this server.
    const card = el("li", "card trial");
    const title = str(trial.title) || "Clinical study";
    const registry = trial.origin === "registry";
    card.appendChild(el("p", "card-title", title));
    const head = el("p", "card-status");
    if (str(trial.status)) head.appendChild(el("span", "badge", capitalise(trial.status), { "data-status": trial.status }));
    if (str(trial.last_updated)) head.appendChild(el("span", "updated", "Record last updated " + formatDate(trial.last_updated)));
    if (head.firstChild) card.appendChild(head);
    const fit = renderFit(trial.fit);
    if (fit) card.appendChild(fit);
    const facts = el("dl", "facts");
    fact(facts, "Run by", str(trial.group));
    fact(facts, "Cancer types", texts(trial.cancer_types).join(", "));
    fact(facts, "Phase", texts(trial.phases).map(phaseLabel).join(", "));
    fact(facts, "Countries", some(texts(trial.countries), 6));
    if (!registry) fact(facts, "Who can join", str(trial.eligibility));  // a registry study's is quoted below
    fact(facts, "Sites", some(describeAll(trial.sites, ["name", "city", "country"]), 4));
    fact(facts, "Contacts", describeAll(trial.contacts, ["name", "phone", "email"]).join("; "));
    fact(facts, "Registry", [str(trial.nct_id), str(trial.registry_status).replace(/_/g, " ").toLowerCase()]
      .filter(Boolean).join(", "));
    if (facts.firstChild) card.appendChild(facts);
    const quotes = Array.isArray(trial.eligibility_quotes)
      ? trial.eligibility_quotes.filter((quote) => isObject(quote) && str(quote.quote)) : [];
    if (quotes.length) card.appendChild(renderQuotes(quotes, title));
    cardLinks(card, title, [[safeHref(trial.url), "Registry page"], [recordHref(trial.record_url), "Study record"],
      [passageUrl(trial.citation), "Source"]]);
    return card;
  }

  function renderFit(items) {
    // One line per criterion, its mark in text as well as colour: ✓ fits, ✗ does not fit, ? not known.
    const lines = Array.isArray(items) ? items.filter((item) => isObject(item) && str(item.detail)) : [];
    if (!lines.length) return null;
    const list = el("ul", "fit", "", { "aria-label": "What the record says" });
    for (const item of lines) {
      const [mark, label, kind] = item.fits === true ? ["\u2713", "fits", "yes"]
        : item.fits === false ? ["\u2717", "does not fit", "no"] : ["?", "not known", "unknown"];
      const line = el("li", "fit-line", "", { "data-fits": kind });
      line.append(el("span", "fit-mark", mark, { role: "img", "aria-label": label }), " " + item.detail);
      list.appendChild(line);
    }
    return list;
  }

  function renderQuotes(quotes, title) {
    // The study's own words, each linked to the study's text with the line highlighted.
    const box = el("div", "trial-quotes");
    box.appendChild(el("p", "quotes-title", "Quoted from the study record"));
    for (const quote of quotes) {
      const item = el("figure", "trial-quote");
      item.appendChild(el("blockquote", "quote", quote.quote));
      const caption = el("figcaption", "meta", str(quote.section));
      const passage = passageUrl(quote);
      if (passage) {
        if (caption.firstChild) caption.append(" \u00b7 ");
        caption.appendChild(link(passage, "Open the passage", "Open the passage in the record of " + title));
      }
      if (caption.firstChild) item.appendChild(caption);
      box.appendChild(item);
    }
    return box;
  }

  function recordHref(path) {
    // A study's page on this project's server ("/trials/NCT01234567"): a plain path, never another site.
    return typeof path === "string" && /^\/trials\/NCT\d{8}$/.test(path) ? safeHref(DOCUMENTS + path) : null;
  }

  function phaseLabel(phase) {
    // "PHASE2" -> "Phase 2", "EARLY_PHASE1" -> "Early phase 1", "NA" -> "Not applicable"; others as given.
    const match = /^(EARLY_)?PHASE(\d)$/.exec(phase);
    if (match) return (match[1] ? "Early phase " : "Phase ") + match[2];
    return phase === "NA" ? "Not applicable" : phase;
  }

  function some(values, shown) {
    // The first few of a long list, and how many more ("Lyon, Paris and 12 more").
    const joiner = values.some((value) => value.includes(",")) ? "; " : ", ";
    const more = values.length - shown;
    return more > 0 ? values.slice(0, shown).join(joiner) + " and " + more + " more" : values.join(joiner);
  }

  function describeAll(records, fields) {
    // Sites and contacts are objects; each becomes "name, city, country" (the caller joins them).
    if (!Array.isArray(records)) return [];
    return records.filter(isObject).map((record) => fields.map((name) => str(record[name])).filter(Boolean).join(", "))
      .filter(Boolean);
  }

  function renderOrganisation(organisation) {
    const card = el("li", "card organisation");
    const name = str(organisation.name) || "Organisation";
    card.appendChild(el("p", "card-title", name));
    if (str(organisation.kind)) card.appendChild(el("span", "badge", capitalise(organisation.kind)));
    const facts = el("dl", "facts");
    fact(facts, "Country", str(organisation.country));
    fact(facts, "Cancer types", texts(organisation.cancer_sites).join(", "));
    fact(facts, "Contact", str(organisation.contact));
    const website = websiteHref(str(organisation.website));
    if (!website) fact(facts, "Website", str(organisation.website));  // not a usable address: text only
    if (facts.firstChild) card.appendChild(facts);
    cardLinks(card, name, [[website, "Website"], [passageUrl(organisation.citation), "Source"]]);
    return card;
  }

  function renderButtons(buttons) {
    const box = el("div", "quick-replies", "", { role: "group", "aria-label": "Suggested replies" });
    for (const item of buttons) {
      if (!isObject(item) || !str(item.title)) continue;
      const payload = str(item.payload) || item.title;
      box.appendChild(button("quick-reply", item.title, () => send(payload, item.title)));
    }
    return box;
  }

  function renderFeedback(entry, messageId) {
    const box = el("div", "feedback");
    const note = el("span", "feedback-note", "", { role: "status" });
    const choices = [["up", "Helpful"], ["down", "Not helpful"]];
    const buttons = choices.map(([rating, label]) => {
      const thumb = button("thumb", "", () => rate(rating), { "aria-label": label, title: label });
      thumb.appendChild(icon(rating));
      return thumb;
    });
    box.append(el("span", "feedback-label", "Was this helpful?"), ...buttons, note);
    show(entry.rating);

    function show(rating) {  // a pressed thumb stays pressed, and both stay disabled
      buttons.forEach((thumb, index) => {
        thumb.setAttribute("aria-pressed", String(rating === choices[index][0]));
        thumb.disabled = Boolean(rating);
      });
      if (rating) note.textContent = "Thank you for your feedback.";
    }

    async function rate(rating) {
      buttons.forEach((thumb) => { thumb.disabled = true; });
      try {
        await request("POST", DOCUMENTS + "/api/feedback", { session_id: state.sessionId, message_id: messageId, rating });
        entry.rating = rating;
        saveState();
        show(rating);
      } catch (err) {
        show(null);
        note.textContent = "Your feedback could not be sent. Please try again.";
      }
    }
    return box;
  }

  /* ---------- the panel ---------- */

  function buildUi() {
    const host = el("div", "", "", { "data-rca-widget": "" });
    const shadow = host.attachShadow({ mode: "open" });
    const sheet = el("link", "", "", { rel: "stylesheet", href: STYLESHEET });
    const root = el("div", "rca-root", "", { hidden: "" });  // shown once styled, so nothing flashes unstyled
    const reveal = () => { root.hidden = false; };
    sheet.addEventListener("load", reveal);
    sheet.addEventListener("error", reveal);

    const launcher = button("launcher", "", () => setOpen(!state.open, true),
      { "aria-controls": "rca-panel", "aria-expanded": "false" });
    launcher.append(icon("chat"), el("span", "launcher-label", "Ask about rare cancers"));
    const panel = el("section", "panel", "", { id: "rca-panel", role: "dialog", "aria-label": "Rare Cancer Assistant chat", hidden: "" });
    const header = el("header", "panel-header");
    const close = button("close", "", () => setOpen(false, true), { "aria-label": "Close the chat" });
    close.appendChild(icon("close"));
    header.append(el("h2", "panel-title", "Rare Cancer Assistant"), close);

    // tabindex: a scrollable region must be reachable by keyboard
    const log = el("div", "log", "", { role: "log", "aria-live": "polite", "aria-label": "Conversation", tabindex: "0" });
    const typing = el("div", "typing", "", { hidden: "" });
    typing.append(el("span", "dot"), el("span", "dot"), el("span", "dot"),
      el("span", "visually-hidden", "The assistant is writing an answer"));
    log.appendChild(typing);

    const form = el("form", "composer");
    const input = el("textarea", "input", "", { id: "rca-input", rows: "1", maxlength: String(MAX_CHARS),
      placeholder: "Type your question", autocomplete: "off" });
    const sendButton = el("button", "send", "", { type: "submit", "aria-label": "Send" });
    sendButton.appendChild(icon("send"));
    const counter = el("span", "counter");
    form.append(el("label", "visually-hidden", "Your message", { for: "rca-input" }), input, sendButton, counter);

    const tools = el("div", "tools");
    const exportLink = link("about:blank", "Export conversation");
    exportLink.classList.add("tool");
    const deleteButton = button("tool", "Delete my conversation", () => askToDelete(true));
    tools.append(exportLink, deleteButton);
    const confirm = el("div", "confirm", "", { role: "group", "aria-label": "Confirm deletion", hidden: "" });
    const confirmYes = button("danger", "Delete", () => deleteConversation());
    const confirmNo = button("secondary", "Cancel", () => askToDelete(false));
    confirm.append(el("p", "", "Delete this conversation from this browser and from the assistant's server? " +
      "This cannot be undone."), confirmYes, confirmNo);

    panel.append(header, el("p", "disclaimer", DISCLAIMER), log, form, tools, confirm);
    root.append(launcher, panel);
    shadow.append(sheet, root);
    (document.body || document.documentElement).appendChild(host);
    return { root, launcher, panel, log, typing, form, input, counter, sendButton, tools, exportLink, deleteButton,
      confirm, confirmYes, confirmNo };
  }

  function append(node) {
    ui.log.insertBefore(node, ui.typing);
    ui.log.scrollTop = ui.log.scrollHeight;
    return node;
  }

  function renderAll() {
    while (ui.log.firstChild !== ui.typing) ui.log.removeChild(ui.log.firstChild);
    append(renderIntro());
    for (const entry of state.entries) append(entry.kind === "user" ? renderUser(entry.text) : renderBot(entry));
    updateTools();
  }

  function updateTools() {
    // Export and delete only make sense once there is a conversation.
    ui.tools.hidden = state.entries.length === 0;
    ui.exportLink.href = DOCUMENTS + "/api/sessions/" + encodeURIComponent(state.sessionId) + "/export";
  }

  function setOpen(open, moveFocus) {
    state.open = open;
    saveState();
    ui.panel.hidden = !open;
    ui.root.classList.toggle("is-open", open);
    ui.launcher.setAttribute("aria-expanded", String(open));
    if (open) {
      ui.log.scrollTop = ui.log.scrollHeight;
      if (moveFocus) ui.input.focus();
    } else {
      ui.confirm.hidden = true;
      if (moveFocus) ui.launcher.focus();
    }
  }

  function setBusy(busy) {
    sending = busy;
    ui.typing.hidden = !busy;
    ui.log.setAttribute("aria-busy", String(busy));
    ui.sendButton.disabled = busy;
    if (busy) ui.log.scrollTop = ui.log.scrollHeight;
  }

  async function send(text, shown) {
    // Sends one message (a quick reply shows its title, sends its payload); true when answered.
    const message = text.trim();
    if (!message || sending) return false;
    if (message.length > MAX_CHARS) {
      append(renderNotice("Please shorten your message to " + MAX_CHARS + " characters or fewer.", "error"));
      return false;
    }
    const bubble = append(renderUser(shown || message));
    setBusy(true);
    try {
      const reply = await request("POST", SERVER + "/webhooks/rest/webhook", { sender: state.sessionId, message });
      const messages = Array.isArray(reply) ? foldCustom(reply.filter(isObject)) : [];
      state.entries.push({ kind: "user", text: shown || message });
      for (const item of messages) {
        const entry = { kind: "bot", message: item };
        state.entries.push(entry);
        append(renderBot(entry));
      }
      if (!messages.length) append(renderNotice("The assistant had no answer. Please try asking differently.", "info"));
      saveState();
      updateTools();
      return true;
    } catch (err) {
      bubble.classList.add("failed");
      bubble.appendChild(el("span", "failed-note", "Not sent"));
      append(renderNotice(friendlyError(err), "error"));
      return false;
    } finally {
      setBusy(false);
    }
  }

  function foldCustom(items) {
    // A Rasa server's REST channel sends a message's text (with its buttons) and its custom payload
    // as two items; this project's server sends them as one. Each custom-only item joins the message
    // before it, so markers like [1] still open that message's sources.
    const folded = [];
    for (const item of items) {
      const last = folded[folded.length - 1];
      const customOnly = isObject(item.custom) && !str(item.text) && !(Array.isArray(item.buttons) && item.buttons.length);
      if (customOnly && last && !isObject(last.custom)) folded[folded.length - 1] = { ...last, custom: item.custom };
      else folded.push(item);
    }
    return folded;
  }

  function askToDelete(ask) {
    ui.confirm.hidden = !ask;
    (ask ? ui.confirmNo : ui.deleteButton).focus();
  }

  async function deleteConversation() {
    ui.confirmYes.disabled = true;
    try {
      await request("DELETE", DOCUMENTS + "/api/sessions/" + encodeURIComponent(state.sessionId));
    } catch (err) {
      append(renderNotice("Your conversation could not be deleted: " + friendlyError(err), "error"));
      return;
    } finally {
      ui.confirmYes.disabled = false;
      ui.confirm.hidden = true;
    }
    try {
      window.localStorage.removeItem(STORE_KEY);
    } catch (err) { /* storage unavailable: nothing was kept there */ }
    state = { sessionId: newSessionId(), open: true, entries: [] };
    saveState();  // only the new session id and the open panel
    renderAll();
    append(renderNotice("Your conversation has been deleted from this browser and from the assistant's server.", "info"));
    ui.input.focus();
  }

  function wireEvents() {
    ui.form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = ui.input.value;
      if (!text.trim() || sending) return;
      ui.input.value = "";
      updateCounter();
      const answered = await send(text);
      if (!answered && !ui.input.value) {  // never lose what the user typed
        ui.input.value = text;
        updateCounter();
      }
    });
    ui.input.addEventListener("keydown", (event) => {
      // Enter sends, Shift+Enter starts a new line; not while an input method is composing.
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        ui.form.requestSubmit();
      }
    });
    ui.input.addEventListener("input", updateCounter);
    ui.root.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && state.open) {
        event.preventDefault();
        setOpen(false, true);
      }
    });
  }

  function updateCounter() {
    const length = ui.input.value.length;
    ui.counter.textContent = length >= MAX_CHARS - 100 ? length + " of " + MAX_CHARS + " characters" : "";
  }

  let state = loadState();
  let sending = false;
  let ui = null;

  function start() {
    ui = buildUi();
    wireEvents();
    renderAll();
    setOpen(state.open, false);  // restore the panel as it was, without taking focus from the page
  }

  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
