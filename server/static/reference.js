/* The nurse reference page (/reference): search the documents, highlight the best sentence of each
 * passage, filter by document, copy citations, open a passage in its document.
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

  var main, form, input, statusBox, list, filterBox, filter;
  var k = 20;
  var weakBelow = 0;
  var sequence = 0;
  var inFlight = null;
  var current = { query: "", results: [], seconds: 0 };
  var searchCache = new Map();  // query -> {results, seconds}
  var documentInfo = new Map(); // doc_id -> Promise of {publisher, last_reviewed}

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
    if (typeof result.doc_id !== "string" || !Number.isInteger(result.start) || !Number.isInteger(result.end) ||
        result.start < 0 || result.end <= result.start) return null;
    return "/documents/" + encodeURIComponent(result.doc_id) + "?start=" + result.start + "&end=" + result.end +
      "#passage";
  }

  function pageUrl(query, doc) {
    var params = new URLSearchParams();
    if (query) params.set("q", query);
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
    current = { query: "", results: [], seconds: 0 };
  }

  // ---- document details (publisher, date) -----------------------------------------------------

  function detailsOf(result) {
    if (typeof result.publisher === "string") {
      return Promise.resolve({ publisher: result.publisher, last_reviewed: result.last_reviewed || "" });
    }
    if (!documentInfo.has(result.doc_id)) {
      var request = fetch("/api/documents/" + encodeURIComponent(result.doc_id), {
        headers: { Accept: "application/json" }, credentials: "same-origin"
      }).then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      }).then(function (body) {
        return { publisher: String(body.publisher || ""), last_reviewed: String(body.last_reviewed || "") };
      }).catch(function () {
        documentInfo.delete(result.doc_id); // try again next time
        return { publisher: "", last_reviewed: "" };
      });
      documentInfo.set(result.doc_id, request);
    }
    return documentInfo.get(result.doc_id);
  }

  // ---- citations and copying -----------------------------------------------------------------

  function citationText(result, details) {
    var head = [result.title];
    if (details.publisher) head.push(details.publisher);
    if (result.section) head.push("Section: " + result.section);
    if (details.last_reviewed) head.push("Dated " + details.last_reviewed);
    var lines = [head.join(". ").replace(/\.\./g, ".") + "."];
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
      detailsOf(result).then(function (details) {
        return copyText(citationText(result, details));
      }).then(function (copied) {
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
    var publisher = el("span", "publisher", typeof result.publisher === "string" ? result.publisher : "");
    var dated = el("span", "dated");
    meta.appendChild(publisher);
    if (result.section) {
      meta.appendChild(el("span", "section", result.section));
    }
    meta.appendChild(dated);
    if (typeof result.confidence === "number" && result.confidence < weakBelow) {
      meta.appendChild(el("span", "weak", "Weak match"));
    }
    card.appendChild(meta);
    detailsOf(result).then(function (details) {
      publisher.textContent = details.publisher;
      dated.textContent = details.last_reviewed ? "Dated " + details.last_reviewed : "";
      if (!details.publisher) publisher.remove(); // no leading separator before the section
    });

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

  function render(query, results, seconds, doc) {
    current = { query: query, results: results, seconds: seconds };
    list.replaceChildren();
    filter.replaceChildren();
    if (!results.length) {
      filterBox.hidden = true;
      setStatus("empty", [el("strong", null, "No passages found"), " for \u201c" + query + "\u201d. " +
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
    if (doc) {
      setStatus("", ["Showing " + shown + " of " + plural(total, "passage", "passages") +
        " (one document)" + timing]);
    } else {
      setStatus("", [plural(total, "passage", "passages") + " from " + plural(docs, "document", "documents") +
        timing]);
    }
  }

  // ---- searching -----------------------------------------------------------------------------

  function errorMessage(response, body) {
    var error = body && body.error;
    if (error && typeof error.message === "string") return error.message;
    if (response.status === 429) return "Too many searches. Please wait a moment and try again.";
    return "The server answered with an error (HTTP " + response.status + "). Please try again.";
  }

  function search(query, doc) {
    sequence += 1;
    var mine = sequence;
    if (inFlight) inFlight.abort();
    inFlight = null;
    document.title = (query ? query + " \u00b7 " : "") + "Rare cancer reference";
    if (!query) {
      clearResults();
      setStatus("", "");
      return Promise.resolve();
    }
    var cached = searchCache.get(query);
    if (cached) {
      render(query, cached.results, cached.seconds, doc);
      return Promise.resolve();
    }
    var controller = new AbortController();
    inFlight = controller;
    list.setAttribute("aria-busy", "true");
    main.classList.add("is-loading");
    setStatus("loading", "Searching\u2026");
    var started = performance.now();
    var url = "/api/search?" + new URLSearchParams({ q: query, k: String(k) }).toString();
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
          searchCache.set(query, { results: body.results, seconds: seconds });
          if (searchCache.size > MAX_CACHED_SEARCHES) searchCache.delete(searchCache.keys().next().value);
          render(query, body.results, seconds, doc);
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
    return { query: (params.get("q") || "").trim(), doc: params.get("doc") || "" };
  }

  function onSubmit(event) {
    event.preventDefault();
    var query = input.value.trim();
    if (!query) {
      clearResults();
      history.replaceState(null, "", pageUrl("", ""));
      setStatus("hint", "Type a question or a few words to search, for example \u201cstaging of anal cancer\u201d.");
      input.focus();
      return;
    }
    var target = pageUrl(query, "");
    if (fromLocation().query === query) history.replaceState(null, "", target);
    else history.pushState(null, "", target);
    search(query, "");
  }

  function onFilterChange() {
    applyFilter();
    history.replaceState(null, "", pageUrl(current.query, filter.value));
  }

  function start() {
    main = document.getElementById("main");
    form = document.getElementById("search-form");
    input = document.getElementById("q");
    statusBox = document.getElementById("status");
    list = document.getElementById("results");
    filterBox = document.getElementById("filter-box");
    filter = document.getElementById("doc-filter");
    k = parseInt(main.dataset.k, 10) || 20;
    weakBelow = parseFloat(main.dataset.weakBelow) || 0;

    form.addEventListener("submit", onSubmit);
    filter.addEventListener("change", onFilterChange);
    window.addEventListener("popstate", function () {
      var state = fromLocation();
      input.value = state.query;
      search(state.query, state.doc);
    });
    var initial = fromLocation();
    if (initial.query) {
      input.value = initial.query;
      search(initial.query, initial.doc);
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

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
