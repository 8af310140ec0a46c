/* The nurse reference page (/reference): search the documents, for one cancer or all, highlight the best
 * sentence of each passage, filter by document, copy citations, open a passage in its document.
 * The page's URL holds the search (?q=), the cancer (?cancer=) and the document (?doc=).
 *
 * Safety: every piece of data goes in with textContent or as a text node (never innerHTML); only
 * http(s) URLs become hrefs; the page's Content-Security-Policy allows no inline script or style.
 */
(function () {
  "use strict";

  var STOP_WORDS = new Set((
    "a an the and or but if of to in on at by for from with without about as into onto over under " +
    "is are was were be been being am do does did done have has had having can could should would will " +
    "shall may might must i me my we our you your he she it its they them their this that these those " +
    "there here what which who whom whose when where why how than then so not no yes also just very " +
    "get gets got tell told know please any some all each more most other such own same too out up down"
  ).split(" "));
  var ABBREVIATIONS = new Set(("e.g i.e dr mr mrs ms prof vs etc al fig no st approx ca cf jan feb mar apr " +
    "jun jul aug sep sept oct nov dec u.s u.k e.u inc ltd co").split(" "));
  var MAX_CACHED_SEARCHES = 30;

  var DATE_LABELS = [["last_reviewed", "Last reviewed"], ["last_updated", "Record last updated"],
    ["retrieved", "Retrieved"]];
  var NOTE_LINK = "Check the publisher's current page";  // as server/dates.py
  var MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
    "November", "December"];

  var main, form, input, cancerSelect, statusBox, list, filterBox, filter;
  var k = 20;
  var weakBelow = 0;
  var sequence = 0;
  var inFlight = null;
  var current = { query: "", cancer: "", results: [], seconds: 0 };
  var searchCache = new Map();  // cancer + NUL + query -> {results, seconds}

  // ---- words and sentences -------------------------------------------------------------------

  function words(text) {
    return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) || [];
  }

  /** A crude stem, so "diagnosed" meets "diagnosis" and "tests" meets "testing". */
  function stem(word) {
    var bare = word.replace(/(ing|ed|es|s)$/, "");
    if (bare.length < 3) bare = word;
    return bare.slice(0, 5);
  }

  function queryStems(query) {
    var out = new Set();
    words(query).forEach(function (w) {
      if (!STOP_WORDS.has(w) && (w.length > 1 || /\d/.test(w))) out.add(stem(w));
    });
    return out;
  }

  function stemsOf(text) {
    return new Set(words(text).map(stem));
  }

  function isAbbreviation(text, dot) {
    var match = /([A-Za-z][A-Za-z.]*)$/.exec(text.slice(Math.max(0, dot - 12), dot));
    if (!match) return false;
    var word = match[1].toLowerCase().replace(/\.+$/, "");
    if (ABBREVIATIONS.has(word)) return true;
    return word.length === 1 && /[A-Z]/.test(text.charAt(dot - 1));
  }

  /** [start, end) offsets of the sentences (and list lines) of text, without surrounding whitespace. */
  function sentenceSpans(text) {
    var spans = [];
    var boundary = /([.!?]["'\u2019\u201d)\]]*)\s+(?=[A-Z0-9"'\u2018\u201c(\[\u00c0-\u024f-])|\s*\n\s*/g;
    var cursor = 0;
    var match;
    function add(from, to) {
      while (from < to && /\s/.test(text.charAt(from))) from++;
      while (to > from && /\s/.test(text.charAt(to - 1))) to--;
      if (to > from) spans.push([from, to]);
    }
    while ((match = boundary.exec(text)) !== null) {
      if (match[1] && match[1].charAt(0) === "." && isAbbreviation(text, match.index)) continue;
      add(cursor, match.index + (match[1] ? match[1].length : 0));
      cursor = match.index + match[0].length;
    }
    add(cursor, text.length);
    return spans;
  }

  /** Quote-relative [start, end) ranges to highlight: the server's, if it sent any, else our own pick. */
  function highlights(result, weights, queryKeys) {
    var offered = result.highlight ? [result.highlight] : (Array.isArray(result.spans) ? result.spans : []);
    var ranges = [];
    offered.forEach(function (span) {
      if (!span || !Number.isInteger(span.start) || !Number.isInteger(span.end)) return;
      var s = span.start - result.start, e = span.end - result.start;
      if (s >= 0 && e > s && e <= result.quote.length) ranges.push([s, e]);
    });
    if (ranges.length) return ranges;
    var best = null, bestScore = 0;
    sentenceSpans(result.quote).forEach(function (span) {
      var present = stemsOf(result.quote.slice(span[0], span[1]));
      var score = 0;
      queryKeys.forEach(function (key) { if (present.has(key)) score += weights.get(key) || 0; });
      if (score > bestScore + 1e-9) { best = span; bestScore = score; }
    });
    return best ? [best] : [];
  }

  /** Query words weighted by how few of the results' passages contain them (an IDF over the results). */
  function queryWeights(queryKeys, results) {
    var passages = results.map(function (r) { return stemsOf(r.quote); });
    var weights = new Map();
    queryKeys.forEach(function (key) {
      var df = passages.filter(function (p) { return p.has(key); }).length;
      weights.set(key, Math.log(1 + (passages.length + 1) / (df + 1)));
    });
    return weights;
  }

  // ---- URLs ----------------------------------------------------------------------------------

  function httpUrl(value) {
    if (typeof value !== "string" || !value) return null;
    try {
      var url = new URL(value);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (error) {
      return null;
    }
  }

  function passagePath(result) {
    if (!result || typeof result.doc_id !== "string" || !result.doc_id || !Number.isInteger(result.start) ||
        !Number.isInteger(result.end) || result.start < 0 || result.end <= result.start) return null;
    return "/documents/" + encodeURIComponent(result.doc_id) + "?start=" + result.start + "&end=" + result.end +
      "#passage";
  }

  function pageUrl(query, cancer, doc) {
    var params = new URLSearchParams(location.search);  // a trial search's parameters (reference-trials.js) stay
    ["q", "cancer", "doc"].forEach(function (name) { params.delete(name); });
    if (query) params.set("q", query);
    if (cancer) params.set("cancer", cancer);
    if (doc) params.set("doc", doc);
    var search = params.toString();
    return location.pathname + (search ? "?" + search : "");
  }

  // ---- DOM helpers ---------------------------------------------------------------------------

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function setStatus(kind, parts) {
    statusBox.replaceChildren();
    statusBox.className = "status" + (kind ? " status-" + kind : "");
    (Array.isArray(parts) ? parts : [parts]).forEach(function (part) {
      if (typeof part === "string") statusBox.appendChild(document.createTextNode(part));
      else if (part) statusBox.appendChild(part);
    });
  }

  function clearResults() {
    list.replaceChildren();
    filter.replaceChildren();
    filterBox.hidden = true;
    current = { query: "", cancer: current.cancer, results: [], seconds: 0 };
  }

  // ---- how current a source is ---------------------------------------------------------------

  function formatDate(value) {
    // "2024-05-03" -> "3 May 2024"; anything else as given.
    var match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
    var month = match ? MONTHS[Number(match[2]) - 1] : null;
    return month ? Number(match[3]) + " " + month + " " + match[1] : value;
  }

  /** Each date the result gives, labelled for what it is: "Last reviewed 3 May 2024", "Retrieved ...". */
  function dateLabels(result) {
    return DATE_LABELS.filter(function (pair) { return typeof result[pair[0]] === "string" && result[pair[0]]; })
      .map(function (pair) { return pair[1] + " " + formatDate(result[pair[0]]); });
  }

  function dateNote(result) {
    return typeof result.date_note === "string" && result.date_note.trim() ? result.date_note : "";
  }

  /** The date note, its closing "Check the publisher's current page" (added if missing) linked to the url. */
  function dateNoteNode(result) {
    var note = dateNote(result);
    var node = el("p", "date-note");
    var source = httpUrl(result.url);
    if (!source) {
      node.textContent = note;
      return node;
    }
    var bare = note.replace(/[.\s]+$/, "");
    if (bare.endsWith(NOTE_LINK)) node.appendChild(document.createTextNode(bare.slice(0, -NOTE_LINK.length)));
    else node.appendChild(document.createTextNode(note + " "));
    var link = el("a", "current-page", NOTE_LINK);
    link.href = source;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    node.append(link, ".");
    return node;
  }

  // ---- citations and copying -----------------------------------------------------------------

  function citationText(result) {
    var head = [result.title];
    if (result.publisher) head.push(result.publisher);
    if (result.section) head.push("Section: " + result.section);
    head = head.concat(dateLabels(result));
    var lines = [head.join(". ").replace(/\.\./g, ".") + "."];
    if (dateNote(result)) lines.push(dateNote(result));
    var source = httpUrl(result.url);
    if (source) lines.push(source);
    lines.push("\u201c" + result.quote + "\u201d");
    var path = passagePath(result);
    if (path) lines.push("Passage: " + new URL(path, location.href).href);
    return lines.join("\n");
  }

  function copyWithTextarea(text) {
    var buffer = el("textarea", "copy-buffer");
    buffer.value = text;
    buffer.setAttribute("readonly", "");
    buffer.setAttribute("aria-hidden", "true");
    buffer.tabIndex = -1;
    document.body.appendChild(buffer);
    buffer.select();
    var copied = false;
    try {
      copied = document.execCommand("copy");
    } catch (error) {
      copied = false;
    }
    buffer.remove();
    return copied;
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).then(function () { return true; },
        function () { return copyWithTextarea(text); });
    }
    return Promise.resolve(copyWithTextarea(text));
  }

  function onCopy(button, feedback, result, quoteNode) {
    var timer = 0;
    button.addEventListener("click", function () {
      copyText(citationText(result)).then(function (copied) {
        clearTimeout(timer);
        button.focus();
        if (copied) {
          feedback.className = "copy-status copy-ok";
          feedback.textContent = "Copied";
          button.classList.add("is-copied");
        } else {
          feedback.className = "copy-status copy-failed";
          feedback.textContent = "Could not copy: the quote is selected, press Ctrl+C (\u2318C on a Mac).";
          var range = document.createRange();
          range.selectNodeContents(quoteNode);
          var selection = window.getSelection();
          selection.removeAllRanges();
          selection.addRange(range);
        }
        timer = setTimeout(function () {
          feedback.textContent = "";
          button.classList.remove("is-copied");
        }, 4000);
      });
    });
  }

  // ---- rendering -----------------------------------------------------------------------------

  function quoteWithHighlights(quote, ranges) {
    var node = el("blockquote", "quote");
    var cursor = 0;
    ranges.sort(function (a, b) { return a[0] - b[0]; }).forEach(function (range) {
      if (range[0] < cursor) return;
      if (range[0] > cursor) node.appendChild(document.createTextNode(quote.slice(cursor, range[0])));
      node.appendChild(el("mark", "match", quote.slice(range[0], range[1])));
      cursor = range[1];
    });
    if (cursor < quote.length) node.appendChild(document.createTextNode(quote.slice(cursor)));
    return node;
  }

  function resultItem(result, index, weights, queryKeys) {
    var item = el("li", "result");
    item.dataset.doc = result.doc_id;
    var card = el("article", "card");
    var titleId = "result-" + index + "-title";
    card.setAttribute("aria-labelledby", titleId);

    var heading = el("h3", "result-title", result.title || result.doc_id);
    heading.id = titleId;
    card.appendChild(heading);

    var meta = el("p", "meta");
    if (typeof result.publisher === "string" && result.publisher) {
      meta.appendChild(el("span", "publisher", result.publisher));
    }
    if (result.section) {
      meta.appendChild(el("span", "section", result.section));
    }
    dateLabels(result).forEach(function (label) { meta.appendChild(el("span", "dated", label)); });
    if (typeof result.confidence === "number" && result.confidence < weakBelow) {
      meta.appendChild(el("span", "weak", "Weak match"));
    }
    card.appendChild(meta);
    if (dateNote(result)) card.appendChild(dateNoteNode(result));

    var quote = quoteWithHighlights(result.quote, highlights(result, weights, queryKeys));
    card.appendChild(quote);

    var actions = el("div", "actions");
    var copy = el("button", "copy", "Copy citation");
    copy.type = "button";
    copy.setAttribute("aria-describedby", titleId);
    var feedback = el("span", "copy-status");
    feedback.setAttribute("role", "status");
    feedback.setAttribute("aria-live", "polite");
    onCopy(copy, feedback, result, quote);
    actions.appendChild(copy);

    var path = passagePath(result);
    if (path) {
      var open = el("a", "open-context", "Open in context");
      open.href = path;
      open.target = "_blank";
      open.rel = "noopener";
      open.appendChild(el("span", "visually-hidden", " (opens in a new tab)"));
      actions.appendChild(open);
    }
    var source = httpUrl(result.url);
    if (source) {
      var original = el("a", "source-link", "Original source");
      original.href = source;
      original.target = "_blank";
      original.rel = "noopener noreferrer";
      original.appendChild(el("span", "visually-hidden", " (opens in a new tab)"));
      actions.appendChild(original);
    }
    actions.appendChild(feedback);
    card.appendChild(actions);
    item.appendChild(card);
    return item;
  }

  function plural(n, one, many) {
    return n + " " + (n === 1 ? one : many);
  }

  function documentsIn(results) {
    var byDoc = new Map();
    results.forEach(function (r) {
      if (!byDoc.has(r.doc_id)) byDoc.set(r.doc_id, { doc_id: r.doc_id, title: r.title || r.doc_id, count: 0 });
      byDoc.get(r.doc_id).count += 1;
    });
    return Array.from(byDoc.values()).sort(function (a, b) { return b.count - a.count; }); // stable: rank order
  }

  function render(query, cancer, results, seconds, doc) {
    current = { query: query, cancer: cancer, results: results, seconds: seconds };
    list.replaceChildren();
    filter.replaceChildren();
    if (!results.length) {
      filterBox.hidden = true;
      setStatus("empty", cancer ? [el("strong", null, "No passages found"), " for \u201c" + query + "\u201d " +
        "in the pages about " + cancer + ". Try other words, or all cancers."] :
        [el("strong", null, "No passages found"), " for \u201c" + query + "\u201d. " +
        "Try fewer or different words, or the cancer\u2019s name."]);
      return;
    }
    var keys = queryStems(query);
    var weights = queryWeights(keys, results);
    var fragment = document.createDocumentFragment();
    results.forEach(function (result, index) { fragment.appendChild(resultItem(result, index, weights, keys)); });
    list.appendChild(fragment);

    var docs = documentsIn(results);
    var all = el("option", null, "All documents (" + results.length + ")");
    all.value = "";
    filter.appendChild(all);
    docs.forEach(function (d) {
      var option = el("option", null, d.title + " (" + d.count + ")");
      option.value = d.doc_id;
      filter.appendChild(option);
    });
    filterBox.hidden = false;
    filter.value = docs.some(function (d) { return d.doc_id === doc; }) ? doc : "";
    applyFilter();
  }

  function applyFilter() {
    var doc = filter.value;
    var shown = 0;
    Array.prototype.forEach.call(list.children, function (item) {
      item.hidden = Boolean(doc) && item.dataset.doc !== doc;
      if (!item.hidden) shown += 1;
    });
    var total = current.results.length;
    var docs = documentsIn(current.results).length;
    var timing = " \u00b7 " + current.seconds.toFixed(2) + " s";
    var about = current.cancer ? " about " + current.cancer : "";
    if (doc) {
      setStatus("", ["Showing " + shown + " of " + plural(total, "passage", "passages") +
        " (one document)" + timing]);
    } else {
      setStatus("", [plural(total, "passage", "passages") + " from " + plural(docs, "document", "documents") +
        about + timing]);
    }
  }

  // ---- searching -----------------------------------------------------------------------------

  function errorMessage(response, body) {
    var error = body && body.error;
    if (error && typeof error.message === "string") return error.message;
    if (response.status === 429) return "Too many searches. Please wait a moment and try again.";
    return "The server answered with an error (HTTP " + response.status + "). Please try again.";
  }

  /** Shows the cancer in the control; one no option names (a link from elsewhere) gets its own option. */
  function showCancer(cancer) {
    var known = Array.prototype.some.call(cancerSelect.options, function (o) { return o.value === cancer; });
    if (!known) {
      var option = el("option", null, cancer);
      option.value = cancer;
      cancerSelect.appendChild(option);
    }
    cancerSelect.value = cancer;
  }

  function search(query, cancer, doc) {
    sequence += 1;
    var mine = sequence;
    if (inFlight) inFlight.abort();
    inFlight = null;
    document.title = (query ? query + " \u00b7 " : "") + "Rare cancer reference";
    current.cancer = cancer;
    if (!query) {
      clearResults();
      setStatus(cancer ? "hint" : "", cancer ? "Type a question or a few words to search the pages about " +
        cancer + "." : "");
      return Promise.resolve();
    }
    var key = cancer + "\u0000" + query;
    var cached = searchCache.get(key);
    if (cached) {
      render(query, cancer, cached.results, cached.seconds, doc);
      return Promise.resolve();
    }
    var controller = new AbortController();
    inFlight = controller;
    list.setAttribute("aria-busy", "true");
    main.classList.add("is-loading");
    setStatus("loading", "Searching\u2026");
    var started = performance.now();
    var params = new URLSearchParams({ q: query, k: String(k) });
    if (cancer) params.set("cancer", cancer);
    var url = "/api/search?" + params.toString();
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin",
                        signal: controller.signal })
      .then(function (response) {
        return response.json().catch(function () { return null; }).then(function (body) {
          if (mine !== sequence) return;
          if (!response.ok || !body || !Array.isArray(body.results)) {
            clearResults();
            setStatus("error", [el("strong", null, "The search did not work. "), errorMessage(response, body)]);
            return;
          }
          var seconds = (performance.now() - started) / 1000;
          searchCache.set(key, { results: body.results, seconds: seconds });
          if (searchCache.size > MAX_CACHED_SEARCHES) searchCache.delete(searchCache.keys().next().value);
          render(query, cancer, body.results, seconds, doc);
        });
      })
      .catch(function (error) {
        if (mine !== sequence || (error && error.name === "AbortError")) return;
        clearResults();
        setStatus("error", [el("strong", null, "The search did not work. "),
          "The server could not be reached. Check the connection and try again."]);
      })
      .finally(function () {
        if (mine !== sequence) return;
        inFlight = null;
        list.setAttribute("aria-busy", "false");
        main.classList.remove("is-loading");
      });
  }

  function fromLocation() {
    var params = new URLSearchParams(location.search);
    return { query: (params.get("q") || "").trim(), cancer: (params.get("cancer") || "").trim(),
             doc: params.get("doc") || "" };
  }

  function onSubmit(event) {
    event.preventDefault();
    var query = input.value.trim();
    var cancer = cancerSelect.value;
    if (!query) {
      clearResults();
      history.replaceState(null, "", pageUrl("", cancer, ""));
      setStatus("hint", "Type a question or a few words to search, for example \u201cstaging of anal cancer\u201d.");
      input.focus();
      return;
    }
    var target = pageUrl(query, cancer, "");
    var was = fromLocation();
    if (was.query === query && was.cancer === cancer) history.replaceState(null, "", target);
    else history.pushState(null, "", target);
    search(query, cancer, "");
  }

  function onCancerChange() {
    var query = input.value.trim() || current.query;
    var cancer = cancerSelect.value;
    history.pushState(null, "", pageUrl(query, cancer, ""));
    input.value = query;
    search(query, cancer, "");
  }

  function onFilterChange() {
    applyFilter();
    history.replaceState(null, "", pageUrl(current.query, current.cancer, filter.value));
  }

  function start() {
    main = document.getElementById("main");
    form = document.getElementById("search-form");
    input = document.getElementById("q");
    cancerSelect = document.getElementById("cancer");
    statusBox = document.getElementById("status");
    list = document.getElementById("results");
    filterBox = document.getElementById("filter-box");
    filter = document.getElementById("doc-filter");
    k = parseInt(main.dataset.k, 10) || 20;
    weakBelow = parseFloat(main.dataset.weakBelow) || 0;

    form.addEventListener("submit", onSubmit);
    filter.addEventListener("change", onFilterChange);
    cancerSelect.addEventListener("change", onCancerChange);
    window.addEventListener("popstate", function () {
      var state = fromLocation();
      input.value = state.query;
      showCancer(state.cancer);
      search(state.query, state.cancer, state.doc);
    });
    var initial = fromLocation();
    showCancer(initial.cancer);
    if (initial.query || initial.cancer) {
      input.value = initial.query;
      search(initial.query, initial.cancer, initial.doc);
    }
    document.addEventListener("keydown", function (event) {
      var target = event.target;
      var typing = target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
      if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
        event.preventDefault();
        input.focus();
        input.select();
      }
    });
  }

  // The trial search on the same page (reference-trials.js, loaded after this) makes its links the same way.
  window.referenceLinks = Object.freeze({ httpUrl: httpUrl, passagePath: passagePath });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
