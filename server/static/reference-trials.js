/* The nurse reference page's clinical trial search: the "Clinical trials" form runs `GET /api/trials`
 * (the search the assistant's conversation uses) and lists the studies: title, NCT id linked to the study's
 * page (/trials/<id>), status, last update, and which criteria fit (✓ fits, ✗ does not, ? not known).
 * The page's URL holds the search (trial_cancer, country, city, recruiting, age, sex, phase), so it can be
 * linked and survives a reload; reference.js keeps these parameters when it changes its own.
 *
 * Safety, as reference.js: data only ever goes in as text (textContent, text nodes), only http(s) URLs and
 * this server's own /trials/ and /documents/ paths become links, and no inline script or style is used.
 */
(function () {
  "use strict";

  var FIELDS = ["trial_cancer", "country", "city", "age", "sex", "phase", "recruiting"];  // form and URL names
  var API_NAMES = { trial_cancer: "cancer" };  // the page's own name where the API's would clash with ?cancer=
  var MARKS = { yes: ["\u2713", "fits"], no: ["\u2717", "does not fit"], unknown: ["?", "not known"] };
  var MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
    "November", "December"];
  var LIMIT = "50";

  var form, statusBox, notes, list;
  var sequence = 0;
  var inFlight = null;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function str(value) {
    return typeof value === "string" ? value.trim() : "";
  }

  function formatDate(value) {
    var match = /^(\d{4})-(\d{2})-(\d{2})/.exec(value || "");
    if (!match || Number(match[2]) < 1 || Number(match[2]) > 12) return value || "";
    return Number(match[3]) + " " + MONTHS[Number(match[2]) - 1] + " " + match[1];
  }

  var httpUrl = window.referenceLinks.httpUrl;  // from reference.js: only http(s) URLs become hrefs

  function studyPath(card) {
    return typeof card.record_url === "string" && /^\/trials\/NCT\d{8}$/.test(card.record_url) ? card.record_url : null;
  }

  var passagePath = window.referenceLinks.passagePath;  // from reference.js: /documents/<id>?start=&end=#passage

  function phaseLabel(phase) {
    var match = /^(EARLY_)?PHASE(\d)$/.exec(phase);
    if (match) return (match[1] ? "Early phase " : "Phase ") + match[2];
    return phase === "NA" ? "Not applicable" : phase;
  }

  function link(href, className, text) {
    var node = el("a", className, text);
    node.href = href;
    node.target = "_blank";
    node.rel = "noopener noreferrer";
    node.appendChild(el("span", "visually-hidden", " (opens in a new tab)"));
    return node;
  }

  // ---- the form and the URL ------------------------------------------------------------------

  /** The search in the form: {name: value} of the fields that say something. */
  function formValues() {
    var values = {};
    FIELDS.forEach(function (name) {
      var field = form.elements[name];
      var value = field.type === "checkbox" ? (field.checked ? "true" : "") : field.value.trim();
      if (value) values[name] = value;
    });
    return values;
  }

  function fromLocation() {
    var params = new URLSearchParams(location.search);
    var values = null;
    FIELDS.forEach(function (name) {
      if (params.has(name)) {
        values = values || {};
        values[name] = params.get(name);
      }
    });
    return values;  // null: the URL holds no trial search
  }

  function fill(values) {
    FIELDS.forEach(function (name) {
      var field = form.elements[name];
      if (field.type === "checkbox") field.checked = values[name] === "true";
      else field.value = values[name] || "";
    });
  }

  function pageUrl(values) {
    var params = new URLSearchParams(location.search);  // the document search's own parameters stay
    FIELDS.forEach(function (name) { params.delete(name); });
    Object.keys(values).forEach(function (name) { params.set(name, values[name]); });
    var search = params.toString();
    return location.pathname + (search ? "?" + search : "") + "#trials";
  }

  // ---- rendering -----------------------------------------------------------------------------

  function fitList(items) {
    var lines = (Array.isArray(items) ? items : []).filter(function (item) { return item && str(item.detail); });
    if (!lines.length) return null;
    var list = el("ul", "fit");
    list.setAttribute("aria-label", "What the record says");
    lines.forEach(function (item) {
      var kind = item.fits === true ? "yes" : item.fits === false ? "no" : "unknown";
      var line = el("li", "fit-line");
      line.dataset.fits = kind;
      var mark = el("span", "fit-mark", MARKS[kind][0]);
      mark.setAttribute("role", "img");
      mark.setAttribute("aria-label", MARKS[kind][1]);
      line.append(mark, " " + item.detail);
      list.appendChild(line);
    });
    return list;
  }

  function trialItem(card, index) {
    var item = el("li", "result");
    var article = el("article", "card trial-card");
    var titleId = "trial-" + index + "-title";
    article.setAttribute("aria-labelledby", titleId);
    var heading = el("h3", "result-title", str(card.title) || str(card.nct_id) || "Clinical study");
    heading.id = titleId;
    article.appendChild(heading);

    var meta = el("p", "meta");
    var path = studyPath(card);
    if (path) meta.appendChild(link(path, "study-link", card.nct_id));
    else if (str(card.nct_id)) meta.appendChild(el("span", "nct", card.nct_id));
    if (str(card.status)) {
      var badge = el("span", "trial-status", card.status.charAt(0).toUpperCase() + card.status.slice(1));
      badge.dataset.status = card.status;
      meta.appendChild(badge);
    }
    if (str(card.last_updated)) meta.appendChild(el("span", "dated", "Record last updated " + formatDate(card.last_updated)));
    var phases = (Array.isArray(card.phases) ? card.phases : []).filter(function (p) { return typeof p === "string" && p; });
    if (phases.length) meta.appendChild(el("span", "phase", phases.map(phaseLabel).join(", ")));
    if (card.origin === "curated") meta.appendChild(el("span", "origin", "From the curated sources"));
    article.appendChild(meta);

    var fit = fitList(card.fit);
    if (fit) article.appendChild(fit);

    var actions = el("div", "actions");
    var registry = httpUrl(card.url);
    if (registry) actions.appendChild(link(registry, "source-link", "ClinicalTrials.gov record"));
    var source = card.origin === "curated" ? passagePath(card.citation) : null;
    if (source) actions.appendChild(link(source, "open-context", "Source"));
    if (actions.firstChild) article.appendChild(actions);
    item.appendChild(article);
    return item;
  }

  function setStatus(kind, parts) {
    statusBox.replaceChildren();
    statusBox.className = "status" + (kind ? " status-" + kind : "");
    (Array.isArray(parts) ? parts : [parts]).forEach(function (part) {
      statusBox.append(typeof part === "string" ? document.createTextNode(part) : part);
    });
  }

  function plural(n, one, many) {
    return n + " " + (n === 1 ? one : many);
  }

  /** What the list is: how many, of what, where, and when a place asked for had none. */
  function describe(body, values, seconds) {
    var about = body.cancer ? " for " + body.cancer : " for any cancer";
    var where = body.where ? " " + body.where : "";
    var found = plural(body.trials.length, "study", "studies") + about + where +
      (values.recruiting ? ", recruiting only" : "") + " \u00b7 " + seconds.toFixed(2) + " s";
    var parts = [found];
    if (body.missing_place) {
      parts.unshift(el("strong", null, "No study in " + body.missing_place + ". "),
        body.where ? "Showing those " + body.where + ": " : "Showing those anywhere: ");
    }
    return parts;
  }

  function storeNote(body) {
    var store = body.store || {};
    if (!body.trials.some(function (card) { return card.origin === "registry"; })) return "";
    if (!store.last_synced) {
      return "This service has never completed a sync with ClinicalTrials.gov: check each study's current record.";
    }
    if (store.stale) {
      return "The studies were last synced with ClinicalTrials.gov on " + formatDate(store.last_synced) +
        ": check each study's current record.";
    }
    return "";
  }

  function render(body, values, seconds) {
    list.replaceChildren();
    notes.replaceChildren();
    if (!body.trials.length) {
      setStatus("empty", [el("strong", null, "No studies found"), (body.cancer ? " for " + body.cancer : "") +
        ". Try without a place, age, sex or phase, or another name for the cancer."]);
      return;
    }
    setStatus("", describe(body, values, seconds));
    var fragment = document.createDocumentFragment();
    body.trials.forEach(function (card, index) { fragment.appendChild(trialItem(card || {}, index)); });
    list.appendChild(fragment);
    var note = storeNote(body);
    if (note) notes.appendChild(el("p", "date-note", note));
    notes.appendChild(el("p", "hint", "\u2713 fits what was entered, \u2717 does not, ? not known. " +
      "Only the study team can say whether someone can take part."));
  }

  function errorMessage(response, body) {
    var error = body && body.error;
    if (error && typeof error.message === "string") return error.message;
    if (response.status === 429) return "Too many searches. Please wait a moment and try again.";
    return "The server answered with an error (HTTP " + response.status + "). Please try again.";
  }

  function clear() {
    list.replaceChildren();
    notes.replaceChildren();
  }

  function search(values) {
    sequence += 1;
    var mine = sequence;
    if (inFlight) inFlight.abort();
    var controller = new AbortController();
    inFlight = controller;
    var params = new URLSearchParams({ limit: LIMIT });
    Object.keys(values).forEach(function (name) { params.set(API_NAMES[name] || name, values[name]); });
    list.setAttribute("aria-busy", "true");
    setStatus("loading", "Searching the trials\u2026");
    var started = performance.now();
    return fetch("/api/trials?" + params.toString(), { headers: { Accept: "application/json" },
                                                      credentials: "same-origin", signal: controller.signal })
      .then(function (response) {
        return response.json().catch(function () { return null; }).then(function (body) {
          if (mine !== sequence) return;
          if (!response.ok || !body || !Array.isArray(body.trials)) {
            clear();
            setStatus("error", [el("strong", null, "The trial search did not work. "), errorMessage(response, body)]);
            return;
          }
          render(body, values, (performance.now() - started) / 1000);
        });
      })
      .catch(function (error) {
        if (mine !== sequence || (error && error.name === "AbortError")) return;
        clear();
        setStatus("error", [el("strong", null, "The trial search did not work. "),
          "The server could not be reached. Check the connection and try again."]);
      })
      .finally(function () {
        if (mine !== sequence) return;
        inFlight = null;
        list.setAttribute("aria-busy", "false");
      });
  }

  function onSubmit(event) {
    event.preventDefault();
    var values = formValues();
    history.replaceState(history.state, "", pageUrl(values));
    search(values);
  }

  function start() {
    form = document.getElementById("trial-form");
    if (!form) return;
    statusBox = document.getElementById("trial-status");
    notes = document.getElementById("trial-notes");
    list = document.getElementById("trial-results");
    form.addEventListener("submit", onSubmit);
    var linked = fromLocation();
    if (linked) {
      fill(linked);
      search(formValues());
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
