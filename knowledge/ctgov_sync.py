"""Keep a trial store in step with ClinicalTrials.gov, through its API v2 (`GET /api/v2/studies`).

`CtgovClient.pages()` pages through one condition's studies, politely: at most `requests_per_second`,
with retries and exponential backoff on 429 (honouring Retry-After), 5xx, timeouts, dropped connections
and truncated or malformed bodies. `sync()` stores each page as soon as it arrives and saves the next
page token after it, so a killed sync resumes from the last page stored. Unless `full`, it asks only
for studies updated since the last complete sync. The store is anything shaped like `TrialSink`.

Sync state kept in the store (`get_state`/`set_state`):
- `sync:last_update`: ISO date on which the last complete sync started;
- `sync:<condition>:token`: the next page to fetch for a condition, while it is unfinished;
- `sync:done`: the conditions an unfinished run already completed, so a rerun skips them.
A value is cleared by setting it to "" (a store need not accept None).
"""
from __future__ import annotations

import http.client
import json
import random
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterator, Protocol, Sequence

if TYPE_CHECKING:
    from knowledge.cancer_vocabulary import CancerVocabulary

DEFAULT_BASE_URL = "https://clinicaltrials.gov/api/v2"
DEFAULT_STATUSES = ("RECRUITING", "NOT_YET_RECRUITING", "ACTIVE_NOT_RECRUITING")
# filter.overallStatus values the API accepts (its OpenAPI description).
STATUSES = ("ACTIVE_NOT_RECRUITING", "COMPLETED", "ENROLLING_BY_INVITATION", "NOT_YET_RECRUITING", "RECRUITING",
            "SUSPENDED", "TERMINATED", "WITHDRAWN", "AVAILABLE", "NO_LONGER_AVAILABLE", "TEMPORARILY_NOT_AVAILABLE",
            "APPROVED_FOR_MARKETING", "WITHHELD", "UNKNOWN")
MAX_PAGE_SIZE = 1000  # the API silently coerces larger page sizes down to this
SOURCE = "ctgov-api-v2"
LAST_UPDATE_KEY = "sync:last_update"
DONE_KEY = "sync:done"
# LastUpdatePostDate is a US date and our "today" is local: ask for one day more than strictly needed,
# so no update posted late on the day of the last sync is missed (re-stored studies come back unchanged).
OVERLAP = timedelta(days=1)
MAX_BACKOFF = 60.0
MAX_RETRY_AFTER = 600.0  # a longer wait is better spent by running the sync again later
USER_AGENT = "rare-cancer-assistant ctgov-sync/1.0 (Python urllib)"


class SyncError(RuntimeError):
    """The API could not be read. `report` holds what was stored before the failure, when raised by `sync`."""

    def __init__(self, message: str, *, url: str = "", status: int | None = None):
        super().__init__(message)
        self.url, self.status = url, status
        self.report: SyncReport | None = None


@dataclass(frozen=True)
class Page:
    studies: list[dict[str, Any]]
    next_token: str | None  # None on the last page
    token: str | None  # the pageToken this page was fetched with; None for the first page
    total_count: int | None = None  # only on a first page (countTotal=true)


class UpsertResult(Protocol):
    """What `upsert` returns; `skipped` may also be a list of (id, reason) pairs, instead of a count
    with the ids in `skipped_ids`."""
    added: int
    updated: int
    unchanged: int
    skipped: Any


class TrialSink(Protocol):
    """What `sync` needs of a trial store (knowledge.trial_store.TrialStore, or a test double)."""

    def upsert(self, studies: list[dict[str, Any]], source: str) -> UpsertResult: ...

    def get_state(self, key: str) -> str | None: ...

    def set_state(self, key: str, value: str) -> None: ...  # "" clears

    def mark_synced(self, when: datetime) -> None: ...


class _RateLimiter:
    """Spaces request starts at least 1/rate seconds apart on the given clock."""

    def __init__(self, rate: float, clock: Callable[[], float], sleep: Callable[[float], None]):
        self.interval, self.clock, self.sleep = 1.0 / rate, clock, sleep
        self.next_at: float | None = None

    def wait(self) -> None:
        now = self.clock()
        if self.next_at is not None and now < self.next_at:
            self.sleep(self.next_at - now)
            now = self.next_at
        self.next_at = now + self.interval


def _trim(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds; None when absent or given as an HTTP date (then the backoff applies)."""
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and seconds >= 0 else None


def _hint(status: int) -> str:
    if status == 400:
        return ("the API rejected the query: check the condition, statuses and fields "
                "(a stale page token also gives 400)")
    if status == 404:
        return "check the base URL: it should end in /api/v2, as in https://clinicaltrials.gov/api/v2"
    if status in (401, 403):
        return "access was refused: check the base URL and any proxy between here and the API"
    return "check the base URL and the query"


# ClinicalTrials.gov publishes no API rate limit; its robots.txt asks crawlers for one request a second.
POLITE_RATE = 1.0


class CtgovClient:
    def __init__(self, base_url: str = DEFAULT_BASE_URL, requests_per_second: float = POLITE_RATE, timeout: float = 30.0,
                 max_retries: int = 5, backoff: float = 1.0, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, jitter: bool = True):
        parsed = urllib.parse.urlsplit(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"base URL {base_url!r} is not an http(s) URL: use one like {DEFAULT_BASE_URL}")
        if not requests_per_second > 0:
            raise ValueError(f"requests_per_second must be above 0, got {requests_per_second!r}")
        if not timeout > 0:
            raise ValueError(f"timeout must be above 0 seconds, got {timeout!r}")
        if not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be a whole number of at least 0, got {max_retries!r}")
        if not backoff >= 0:
            raise ValueError(f"backoff must be 0 seconds or more, got {backoff!r}")
        self.base_url = base_url.rstrip("/")
        self.timeout, self.max_retries, self.backoff, self.jitter = timeout, max_retries, backoff, jitter
        self.sleep = sleep
        self.limiter = _RateLimiter(requests_per_second, clock, sleep)
        self.opener = urllib.request.build_opener()  # honours http(s)_proxy and no_proxy

    def pages(self, conditions: str, statuses: Sequence[str] = DEFAULT_STATUSES, updated_since: date | None = None,
              page_size: int = 100, page_token: str | None = None,
              fields: Sequence[str] | None = None) -> Iterator[Page]:
        """The pages of studies matching `conditions` (an Essie query.cond), from `page_token` on.
        Each page is fetched only when the previous one has been consumed."""
        if not isinstance(conditions, str) or not conditions.strip():
            raise ValueError("conditions must be a non-empty condition query, such as 'thymoma'")
        statuses = [statuses] if isinstance(statuses, str) else list(statuses)
        unknown = [s for s in statuses if s not in STATUSES]
        if not statuses or unknown:
            raise ValueError(f"unknown overall status {unknown or 'list (empty)'}: use some of {', '.join(STATUSES)}")
        if not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be a whole number from 1 to {MAX_PAGE_SIZE}, got {page_size!r}")
        if fields is not None and (isinstance(fields, str) or not fields
                                   or not all(isinstance(f, str) and f for f in fields)):
            raise ValueError("fields must be a non-empty list of field names, such as ['NCTId', 'BriefTitle'], or None")
        params = {"format": "json", "query.cond": conditions.strip(), "filter.overallStatus": ",".join(statuses),
                  "pageSize": str(page_size)}
        if updated_since is not None:
            params["filter.advanced"] = f"AREA[LastUpdatePostDate]RANGE[{updated_since:%Y-%m-%d},MAX]"
        if fields is not None:
            params["fields"] = ",".join(fields)
        return self._pages(params, page_token)

    def _pages(self, params: dict[str, str], token: str | None) -> Iterator[Page]:
        while True:
            query = dict(params, pageToken=token) if token else dict(params, countTotal="true")
            url = f"{self.base_url}/studies?{urllib.parse.urlencode(query, quote_via=urllib.parse.quote)}"
            data = self.get_json(url)
            next_token = data.get("nextPageToken") or None
            total = data.get("totalCount")
            yield Page(data["studies"], next_token, token, total if isinstance(total, int) else None)
            if next_token is None:
                return
            if next_token == token:  # following it would loop forever
                raise SyncError(f"{url} returned its own page token as the next one; stopping so as not to loop. "
                                "Report this to ClinicalTrials.gov, and run the sync again later", url=url)
            token = next_token

    def get_json(self, url: str) -> dict[str, Any]:
        """One page as JSON, retried on what is likely to pass (429, 5xx, timeouts, bad bodies)."""
        for attempt in range(self.max_retries + 1):
            self.limiter.wait()
            wait: float | None = None
            try:
                with self.opener.open(urllib.request.Request(url, headers={
                        "Accept": "application/json", "User-Agent": USER_AGENT}), timeout=self.timeout) as response:
                    body = response.read()
            except urllib.error.HTTPError as exc:
                status, body = exc.code, self._error_body(exc)
                if status != 429 and not 500 <= status <= 599:
                    raise SyncError(f"{url} answered HTTP {status}: {_trim(body.decode('utf-8', 'replace'))!r}. "
                                    f"Fix: {_hint(status)}", url=url, status=status) from None
                problem = "HTTP 429 Too Many Requests" if status == 429 else f"HTTP {status}"
                wait = _retry_after(exc.headers.get("Retry-After"))  # sent with 429, and with some 503s
                if wait is not None and wait > MAX_RETRY_AFTER:
                    raise SyncError(f"{url}: the API asks to wait {wait:.0f} s before the next request ({problem}); "
                                    "run the sync again later: it resumes where it stopped", url=url, status=status)
            except (OSError, http.client.HTTPException) as exc:  # timeouts, refused or dropped connections, cut bodies
                problem = self._describe(exc)
            else:
                data, problem = self._parse(body)
                if data is not None:
                    return data
            if attempt == self.max_retries:
                raise SyncError(f"{url}: {problem} (gave up after {attempt + 1} attempts). Fix: check that the API "
                                "is up, or run the sync again later: it resumes from the last page stored",
                                url=url)
            self.sleep(wait if wait is not None else self._backoff(attempt))
        raise AssertionError("unreachable")

    def _describe(self, exc: BaseException) -> str:
        reason = getattr(exc, "reason", None) if isinstance(exc, urllib.error.URLError) else exc
        if isinstance(reason, TimeoutError):
            return f"no answer within the {self.timeout:g} s timeout"
        if isinstance(reason, http.client.IncompleteRead):
            return (f"the body was cut off ({len(reason.partial)} bytes read, "
                    f"{reason.expected if reason.expected is not None else 'more'} bytes missing)")
        return f"{type(reason).__name__}: {reason}"

    @staticmethod
    def _error_body(exc: urllib.error.HTTPError) -> bytes:
        try:
            return exc.read()
        except (OSError, http.client.HTTPException):
            return b""
        finally:
            exc.close()

    @staticmethod
    def _parse(body: bytes) -> tuple[dict[str, Any] | None, str]:
        try:
            data = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return None, f"the body ({len(body)} bytes) is not JSON, perhaps truncated: {exc}"
        if not isinstance(data, dict) or not isinstance(data.get("studies"), list):
            return None, f"the body has no 'studies' list: {_trim(body.decode('utf-8', 'replace'), 120)!r}"
        token = data.get("nextPageToken")
        if token is not None and not isinstance(token, str):
            return None, f"nextPageToken is {type(token).__name__}, not a string"
        return data, ""

    def _backoff(self, attempt: int) -> float:
        delay = min(self.backoff * 2 ** attempt, MAX_BACKOFF)
        return delay * random.uniform(0.5, 1.0) if self.jitter else delay  # jitter: clients don't retry in step


@dataclass
class SyncReport:
    conditions: int  # asked for
    updated_since: date | None = None  # the incremental date, None for a full sync
    conditions_done: int = 0  # finished in this run
    already_done: int = 0  # finished by an earlier, interrupted run of the same sync
    pages: int = 0
    studies: int = 0  # received, malformed ones included
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    skipped_ids: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)  # conditions continued from a saved page token
    restarted: list[str] = field(default_factory=list)  # their saved token was refused: started over
    complete: bool = False  # every condition finished (not stopped by max_pages)

    def summary(self) -> str:
        since = f"updated since {self.updated_since.isoformat()}" if self.updated_since else "full"
        finished = self.conditions_done + self.already_done
        end = "complete" if self.complete else "stopped early: run again to continue"
        return (f"{finished}/{self.conditions} conditions ({since}), {self.pages} pages, {self.studies} studies: "
                f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
                f"{self.skipped} skipped; {end}")


def _saved_date(store: TrialSink) -> date | None:
    saved = store.get_state(LAST_UPDATE_KEY)
    if not saved:
        return None
    try:
        return date.fromisoformat(saved)
    except ValueError:
        raise SyncError(f"the store's {LAST_UPDATE_KEY} is {saved!r}, not an ISO date: run a full sync "
                        "(--full), which rewrites it") from None


def _done(store: TrialSink, since: date | None) -> list[str]:
    """Conditions an interrupted run with the same query already finished."""
    try:
        saved = json.loads(store.get_state(DONE_KEY) or "{}")
    except json.JSONDecodeError:
        return []
    if not isinstance(saved, dict) or saved.get("since") != (since.isoformat() if since else None):
        return []
    return [c for c in saved.get("conditions", []) if isinstance(c, str)]


def sync(client: CtgovClient, store: TrialSink, conditions: Sequence[str], statuses: Sequence[str] = DEFAULT_STATUSES,
         full: bool = False, max_pages: int | None = None, *, partial: bool = False,
         today: Callable[[], date] = date.today, now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
         progress: Callable[[str], None] | None = None) -> SyncReport:
    """Fetch every page of every condition into `store`; see the module docstring for the state kept.

    `partial`: these are only some of the conditions (a --condition run). It reads sync:last_update but
    never moves it, nor marks the store synced, since the other conditions were not brought up to date.
    Raises SyncError (with `.report`) when a page cannot be fetched; the pages stored before it stay."""
    if isinstance(conditions, str) or not all(isinstance(c, str) and c.strip() for c in conditions):
        raise ValueError("conditions must be a list of condition names, such as ['thymoma']")
    if max_pages is not None and (not isinstance(max_pages, int) or max_pages < 1):
        raise ValueError(f"max_pages must be a whole number of at least 1, or None, got {max_pages!r}")
    wanted = list(dict.fromkeys(c.strip() for c in conditions))
    started = today()  # the date saved at the end: updates posted while the sync runs are asked for next time
    since = None if full else _saved_date(store)
    report = SyncReport(conditions=len(wanted), updated_since=since - OVERLAP if since else None)
    done = [] if partial else _done(store, since)
    try:
        for condition in wanted:
            if condition in done:
                report.already_done += 1
                continue
            if max_pages is not None and report.pages >= max_pages:
                break
            if not _sync_condition(client, store, condition, statuses, report, max_pages):
                break
            report.conditions_done += 1
            if progress:
                progress(f"{condition}: done ({report.conditions_done + report.already_done}/{len(wanted)})")
            if not partial:
                done.append(condition)
                store.set_state(DONE_KEY, json.dumps({"since": since.isoformat() if since else None,
                                                      "conditions": done}))
    except SyncError as exc:
        exc.report = report
        raise
    report.complete = report.conditions_done + report.already_done == len(wanted)
    if report.complete and not partial:
        store.set_state(LAST_UPDATE_KEY, started.isoformat())
        store.set_state(DONE_KEY, "")
        store.mark_synced(now())
    return report


def _sync_condition(client: CtgovClient, store: TrialSink, condition: str, statuses: Sequence[str],
                    report: SyncReport, max_pages: int | None) -> bool:
    """Store the condition's pages from its saved token on. False when max_pages stopped it midway."""
    key = f"sync:{condition}:token"
    token = store.get_state(key)
    if not token:
        return _store_pages(client, store, key, condition, statuses, report, max_pages, None)
    report.resumed.append(condition)
    before = report.pages
    try:
        return _store_pages(client, store, key, condition, statuses, report, max_pages, token)
    except SyncError as exc:
        # Page tokens may expire: the API refusing the saved one outright means starting the condition over.
        if exc.status != 400 or report.pages != before:
            raise
    report.restarted.append(condition)
    store.set_state(key, "")
    return _store_pages(client, store, key, condition, statuses, report, max_pages, None)


def _store_pages(client: CtgovClient, store: TrialSink, key: str, condition: str, statuses: Sequence[str],
                 report: SyncReport, max_pages: int | None, token: str | None) -> bool:
    for page in client.pages(condition, statuses, report.updated_since, page_token=token):
        _tally(report, store.upsert(page.studies, source=SOURCE))
        report.pages += 1
        report.studies += len(page.studies)
        store.set_state(key, page.next_token or "")  # cleared once the condition is finished
        if page.next_token and max_pages is not None and report.pages >= max_pages:
            return False
    return True


def _tally(report: SyncReport, result: UpsertResult) -> None:
    report.added += int(result.added)
    report.updated += int(result.updated)
    report.unchanged += int(result.unchanged)
    if isinstance(result.skipped, int):
        report.skipped += result.skipped
        report.skipped_ids.extend(str(i) for i in getattr(result, "skipped_ids", []))
    else:  # [(id, reason), ...]
        skipped = list(result.skipped)
        report.skipped += len(skipped)
        report.skipped_ids.extend(str(item[0] if isinstance(item, (tuple, list)) else item) for item in skipped)


def conditions_to_sync(vocabulary: CancerVocabulary) -> list[str]:
    """The vocabulary's canonical cancer names, sorted and without repeats (synonyms are left to the API,
    whose condition search expands its own)."""
    names = {re.sub(r"\s+", " ", t.name).strip() for t in vocabulary.types}
    return sorted((n for n in names if n), key=lambda n: (n.casefold(), n))
