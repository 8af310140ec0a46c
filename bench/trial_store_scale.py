"""The trial store at registry scale: import N synthetic studies, then time the queries the bot makes.

    .venv/bin/python bench/trial_store_scale.py [--studies 500000] [--keep] [--seed 14]

The studies are the real API v2 records in tests/data/clinicaltrials/v2_json (their protocolSection:
the other sections are dropped, as a sync asking for the protocol only would receive) with the fields
the store reads varied: NCT id, conditions (vocabulary names, their synonyms and registry wordings such
as "Sarcoma, Ewing", plus conditions that are no cancer), sites, last update, ages, sex, phases and
status, in roughly the registry's proportions. They go through `TrialStore.upsert`, the path a sync
takes. Figures: docs/trial-store.md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge.cancer_vocabulary import load_vocabulary  # noqa: E402
from knowledge.trial_store import TrialStore  # noqa: E402

RECORDS = ROOT / "tests" / "data" / "clinicaltrials" / "v2_json"
# (status, weight): roughly the registry's mix; about one study in seven recruits
STATUSES = [("COMPLETED", 50), ("RECRUITING", 14), ("UNKNOWN", 14), ("TERMINATED", 6), ("ACTIVE_NOT_RECRUITING", 5),
            ("NOT_YET_RECRUITING", 4), ("WITHDRAWN", 3), ("ENROLLING_BY_INVITATION", 2), ("SUSPENDED", 1)]
PHASES = [[], ["NA"], ["NA"], ["EARLY_PHASE1"], ["PHASE1"], ["PHASE1", "PHASE2"], ["PHASE2"], ["PHASE2"], ["PHASE3"],
          ["PHASE4"]]
AGES = [("18 Years", None), ("18 Years", None), ("18 Years", "75 Years"), ("18 Years", "64 Years"), (None, None),
        ("12 Years", "17 Years"), ("6 Months", "21 Years"), ("65 Years", None), ("N/A", "N/A"), ("40 Years", "80 Years")]
# (country, weight, cities): the registry is about a third United States
COUNTRIES = [
    ("United States", 32, ["Houston", "Boston", "New York", "Seattle", "Denver", "Miami", "Chicago", "Saint Louis"]),
    ("France", 6, ["Paris", "Lyon", "Villejuif", "Marseille"]), ("China", 9, ["Beijing", "Shanghai", "Guangzhou"]),
    ("United Kingdom", 5, ["London", "Manchester", "Sutton"]), ("Germany", 5, ["Berlin", "Heidelberg", "Essen"]),
    ("Canada", 4, ["Toronto", "Montréal", "Vancouver"]), ("Italy", 4, ["Milano", "Roma", "Napoli"]),
    ("Spain", 4, ["Barcelona", "Madrid", "Sabadell"]), ("Japan", 3, ["Tokyo", "Osaka", "Chuo-ku"]),
    ("Korea, Republic of", 3, ["Seoul", "Busan"]), ("Netherlands", 2, ["Amsterdam", "Utrecht", "Nijmegen"]),
    ("Australia", 2, ["Melbourne", "Sydney"]), ("Brazil", 2, ["São Paulo", "Porto Alegre"]),
    ("India", 2, ["New Delhi", "Mumbai"]), ("Israel", 1, ["Jerusalem", "Tel Aviv"]), ("Egypt", 2, ["Cairo", "Assiut"]),
    ("Switzerland", 1, ["Zürich", "Bern"]), ("Belgium", 1, ["Brussels", "Leuven"]), ("Poland", 1, ["Warsaw"]),
    ("Denmark", 1, ["Copenhagen", "Aarhus"]), ("Turkey", 1, ["Istanbul", "Ankara"]), ("Mexico", 1, ["Mexico City"]),
]
NOT_CANCER = ["Atopic Dermatitis", "Caries, Dental", "Coronary Artery Disease", "Alcohol Use Disorder", "Dysphagia",
              "Brain Injuries", "Cystic Fibrosis Related Diabetes", "Axial Spondyloarthritis", "Healthy Volunteers",
              "Hypertension", "Type 2 Diabetes", "Obesity", "Asthma", "COVID-19", "Depression", "Stroke"]


def templates() -> list[dict[str, Any]]:
    found = []
    for path in sorted(RECORDS.rglob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        found += [{"protocolSection": s["protocolSection"]} for s in data.get("studies", [data])]
    return found


def condition_pool() -> list[str]:
    """Vocabulary names and synonyms as written, inverted as the registry writes them, and other conditions."""
    vocabulary = load_vocabulary()
    pool = [name.title() for cancer in vocabulary.types for name in (cancer.name,) + cancer.synonyms]
    inverted = [f"{w[-1]}, {' '.join(w[:-1])}" for w in (p.split() for p in pool) if len(w) == 2]
    real = [c for t in templates() for c in t["protocolSection"].get("conditionsModule", {}).get("conditions", [])]
    return pool + inverted + real + NOT_CANCER * 20


def studies(count: int, seed: int) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    bases, pool = templates(), condition_pool()
    statuses, status_weights = zip(*STATUSES)
    countries, country_weights = [c[0] for c in COUNTRIES], [c[1] for c in COUNTRIES]
    cities = {c[0]: c[2] for c in COUNTRIES}
    start = dt.date(2000, 1, 1).toordinal()
    for number in range(count):
        section = dict(rng.choice(bases)["protocolSection"])  # shallow: the modules varied below are new objects
        ident = dict(section.get("identificationModule", {}), nctId=f"NCT{(number * 7919 + 1) % 100_000_000:08d}")
        status = rng.choices(statuses, status_weights)[0]
        minimum, maximum = rng.choice(AGES)
        sites = []
        for _ in range(rng.choice([0, 1, 1, 1, 2, 3, 5, 8, 20])):
            country = rng.choices(countries, country_weights)[0]
            sites.append({"facility": f"Site {rng.randrange(5000)}", "city": rng.choice(cities[country]),
                          "country": country, "status": status if status in ("RECRUITING", "COMPLETED") else ""})
        section.update(
            identificationModule=ident,
            statusModule={"overallStatus": status, "lastUpdatePostDateStruct": {
                "date": dt.date.fromordinal(start + rng.randrange(9700)).isoformat(), "type": "ACTUAL"}},
            conditionsModule={"conditions": rng.sample(pool, rng.choice([1, 1, 2, 3]))},
            designModule=dict(section.get("designModule", {}), phases=rng.choice(PHASES)),
            eligibilityModule=dict(section.get("eligibilityModule", {}), sex=rng.choices(["ALL", "FEMALE", "MALE"], [85, 10, 5])[0],
                                   **{k: v for k, v in (("minimumAge", minimum), ("maximumAge", maximum)) if v}),
            contactsLocationsModule={"locations": sites})
        if not minimum:
            section["eligibilityModule"].pop("minimumAge", None)
        if not maximum:
            section["eligibilityModule"].pop("maximumAge", None)
        yield {"protocolSection": section}


def percentiles(times: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(times, n=100)
    return cuts[49] * 1000, cuts[94] * 1000


def timed(run, queries: list[Any]) -> tuple[float, float, float]:
    for query in queries[:20]:  # warm-up, not counted
        run(query)
    times, found = [], 0
    for query in queries:
        began = time.perf_counter()
        found += len(run(query))
        times.append(time.perf_counter() - began)
    return (*percentiles(times), found / len(queries))


def resync(path: Path, count: int, seed: int) -> None:
    """A writer in another process: the first `count` studies again, changed (a sync's updates)."""
    TrialStore(path).upsert(studies(count, seed), "ctgov-api-v2")


def stored_record(store: TrialStore) -> float:
    """Mean bytes of a record as stored (packed)."""
    return store._conn().execute("SELECT avg(length(record)) FROM records").fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--studies", type=int, default=500_000, help="how many synthetic studies to import")
    parser.add_argument("--keep", action="store_true", help="keep the database (its path is printed)")
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    if args.studies < 1:
        parser.error("--studies must be at least 1")
    folder = Path(tempfile.mkdtemp(prefix="trial-store-bench-"))
    path = folder / "trials.sqlite3"
    vocabulary = load_vocabulary()
    store = TrialStore(path, vocabulary)
    sizes: list[int] = []

    def measured() -> Iterator[dict[str, Any]]:
        for number, study in enumerate(studies(args.studies, args.seed)):
            if number % 997 == 0:
                sizes.append(len(json.dumps(study, ensure_ascii=False, separators=(",", ":"))))
            yield study

    began = time.perf_counter()
    report = store.upsert(measured(), "ctgov-bulk")
    seconds = time.perf_counter() - began
    store.close()
    store = TrialStore(path, vocabulary)  # a fresh connection, as a server worker would have
    store._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    disk = sum(p.stat().st_size for p in folder.iterdir())
    print(f"studies: {store.count():,} (added {report.added:,}, skipped {len(report.skipped)}); "
          f"mean record {statistics.mean(sizes) / 1024:.1f} KiB")
    print(f"import: {seconds:.1f} s, {args.studies / seconds:,.0f} studies/s")
    print(f"database on disk: {disk / 2**20:,.0f} MiB; stored record {stored_record(store) / 1024:.2f} KiB on average")
    for name, size in store._conn().execute(  # where the bytes go (SQLite's dbstat), largest first
            "SELECT name, sum(pgsize) FROM dbstat GROUP BY name HAVING sum(pgsize) > 1048576 ORDER BY 2 DESC"):
        print(f"  {name}: {size / 2**20:,.0f} MiB")

    rng = random.Random(args.seed + 1)
    names = [row[0] for row in store._conn().execute("SELECT DISTINCT cancer_type FROM study_conditions")]
    countries, weights = [c[0] for c in COUNTRIES], [c[1] for c in COUNTRIES]
    main_queries = [{"cancer_types": [rng.choice(names)], "country": rng.choices(countries, weights)[0],
                     "recruiting": True} for _ in range(200)]
    p50, p95, mean = timed(lambda q: store.search(**q), main_queries)
    print(f"condition + country + recruiting, 200 queries: p50 {p50:.2f} ms, p95 {p95:.2f} ms "
          f"({mean:.1f} results on average, limit 20)")
    p50, p95, mean = timed(lambda q: store.search(cancer_types=q["cancer_types"]), main_queries)
    print(f"condition alone (any status), 200 queries: p50 {p50:.2f} ms, p95 {p95:.2f} ms ({mean:.1f} results)")
    words = ["melanoma", "sarcoma", "carcinoma adenoid cystic", "ewing", "lung", "lymphoma", "thymoma", "glioma"]
    text_queries = [{"text": rng.choice(words), "recruiting": True, "age": rng.choice([8, 30, 70])} for _ in range(200)]
    p50, p95, mean = timed(lambda q: store.search(**q), text_queries)
    print(f"free text + recruiting + age, 200 queries: p50 {p50:.2f} ms, p95 {p95:.2f} ms ({mean:.1f} results)")
    ids = [f"NCT{(rng.randrange(args.studies) * 7919 + 1) % 100_000_000:08d}" for _ in range(200)]
    p50, p95, _ = timed(lambda nct: [store.get(nct)], ids)
    print(f"get(nct_id) with its record, 200 lookups: p50 {p50:.2f} ms, p95 {p95:.2f} ms")
    cities = [rng.choice(COUNTRIES[rng.randrange(len(COUNTRIES))][2]) for _ in range(200)]
    p50, p95, mean = timed(store.city_countries, cities)
    print(f"city_countries(city), 200 lookups: p50 {p50:.2f} ms, p95 {p95:.2f} ms ({mean:.1f} countries on average)")
    # The same query while another process writes: WAL lets readers go on during a sync's transactions.
    writer = multiprocessing.get_context("spawn").Process(target=resync, args=(path, min(args.studies, 20_000), args.seed + 2))
    writer.start()
    times, rounds = [], 0
    while writer.is_alive() or rounds == 0:
        query = main_queries[rounds % len(main_queries)]
        began = time.perf_counter()
        store.search(**query)
        times.append(time.perf_counter() - began)
        rounds += 1
    writer.join()
    if len(times) > 1:
        p50, p95 = percentiles(times)
        print(f"condition + country + recruiting while another process upserts {min(args.studies, 20_000):,} studies: "
              f"{len(times):,} queries, p50 {p50:.2f} ms, p95 {p95:.2f} ms (writer exit code {writer.exitcode})")
    store.close()
    if args.keep:
        print(f"kept: {path}")
    else:
        for file in folder.iterdir():
            file.unlink()
        folder.rmdir()


if __name__ == "__main__":
    main()
