"""Trivia questions: embedded families generated from fact tables, TriviaQA, and JSONL files.

The embedded questions come from three permissively licensed fact tables (countryinfo, MIT;
periodictable, public domain; us, BSD). The tables are old and uneven, so facts that are
disputed, renamed or oddly formatted are corrected or dropped by the curation tables below;
everything else is derived mechanically.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from societygym.envs.trivia.answers import normalize_answer

SPLITS = ("train", "dev", "test")
N_DISTRACTORS = 3


@dataclass(frozen=True)
class TriviaItem:
    """One question. ``answers[0]`` is the canonical gold answer, the rest are aliases.

    ``distractors`` are plausible wrong answers of the same type (empty for TriviaQA and
    JSONL items); scripted speakers use them to answer wrongly on purpose.
    """

    id: str
    question: str
    answers: tuple[str, ...]
    family: str
    split: str
    distractors: tuple[str, ...] = ()


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def _codes(text: str) -> tuple[str, ...]:
    """Whitespace-separated words, for compact tables."""
    return tuple(text.split())


def _stable_int(text: str) -> int:
    """A hash of ``text`` that is the same on every run, platform and PYTHONHASHSEED."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def _split_of(item_id: str) -> str:
    bucket = _stable_int(item_id) % 100
    return "train" if bucket < 80 else "dev" if bucket < 90 else "test"


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", _ascii(text).lower().replace("'", "")).strip("-")


def _variants(*names: str) -> tuple[str, ...]:
    """The names, their accent-free spellings and Saint/St. swaps, deduplicated in order."""
    out: list[str] = []
    for name in names:
        for form in (name, _ascii(name)):
            out.append(form)
            if re.match(r"(Saint|St\.?) ", form):
                rest = form.split(" ", 1)[1]
                out.extend([f"Saint {rest}", f"St. {rest}"])
    return _dedupe(out)


def _dedupe(names: Iterable[str]) -> tuple[str, ...]:
    """Drop blanks and names equal to an earlier one, keeping the first spelling."""
    seen: set[str] = set()
    out: list[str] = []
    for name in names:
        name = " ".join(name.split())
        if name and name not in seen:
            seen.add(name)
            out.append(name)
    return tuple(out)


_ONES = _codes(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen"
    " fifteen sixteen seventeen eighteen nineteen"
)
_TENS = _codes("_ _ twenty thirty forty fifty sixty seventy eighty ninety")


def _number_words(n: int) -> str:
    """English words for 0 <= n < 1000 ("twenty-six", "one hundred eighteen")."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")
    hundreds, rest = divmod(n, 100)
    return f"{_ONES[hundreds]} hundred" + (f" {_number_words(rest)}" if rest else "")


def _pick_distractors(answers: Sequence[str], pool: Sequence[str]) -> tuple[str, ...]:
    """The first N_DISTRACTORS entries of ``pool`` (most plausible first) that are not
    accepted answers."""
    taken = {normalize_answer(a) for a in answers}
    picked: list[str] = []
    for name in pool:
        norm = normalize_answer(name)
        if norm and norm not in taken:
            taken.add(norm)
            picked.append(" ".join(name.split()))
            if len(picked) == N_DISTRACTORS:
                break
    return tuple(picked)


def _by_closeness(key: Callable[[Any], float], rows: Iterable[Any], item_id: str) -> list[Any]:
    """Rows sorted by ``key``; ties are shuffled by a seed from the item id, so choices are
    stable yet vary across items."""
    rows = list(rows)
    random.Random(_stable_int(item_id)).shuffle(rows)
    return sorted(rows, key=key)  # stable sort: the shuffle orders the ties


@dataclass(frozen=True)
class _Draft:
    """An item before its split is assigned."""

    id: str
    question: str
    answers: tuple[str, ...]
    pool: tuple[str, ...]

    @property
    def family(self) -> str:
        return self.id.split("/", 1)[0]

    def finish(self) -> TriviaItem:
        return TriviaItem(
            id=self.id,
            question=self.question,
            answers=self.answers,
            family=self.family,
            split=_split_of(self.id),
            distractors=_pick_distractors(self.answers, self.pool),
        )


# ---------------------------------------------------------------------------
# Countries (countryinfo)
# ---------------------------------------------------------------------------

# Duplicate or defunct entries in the source table.
_SKIP_ENTRIES = frozenset({"Palestine, State of", "Vatican City State", "Serbia and Montenegro"})
_NAME_OVERRIDES = {
    "SWZ": "Eswatini",
    "MKD": "North Macedonia",
    "VAT": "Vatican City",
    "VGB": "British Virgin Islands",
    "VIR": "United States Virgin Islands",
    "SXM": "Sint Maarten",
    "MAF": "Saint Martin",
    "BHS": "Bahamas",
    "GMB": "Gambia",
    "SGS": "South Georgia and the South Sandwich Islands",
}
_EXTRA_NAMES = {
    "USA": ("USA", "US", "U.S.", "America"),
    "GBR": ("Britain",),
    "MMR": ("Burma",),
    "SWZ": ("Swaziland",),
    "MKD": ("Macedonia",),
    "VAT": ("Holy See", "Vatican"),
    "COG": ("Republic of Congo", "Congo Republic"),
    "PRK": ("DPRK",),
    "TUR": ("Türkiye",),
    "FLK": ("Falklands",),
    "FRO": ("Faroes", "Faeroe Islands"),
    "BIH": ("Bosnia",),
    "LAO": ("Lao PDR",),
    "SGS": ("South Georgia",),
    "CCK": ("Cocos Islands",),
    "BES": ("Caribbean Netherlands", "Bonaire"),
}
# Alternative spellings in the source that are wrong or ambiguous as answers.
_BAD_ALT_NAMES = frozenset(
    {"Island", "Thai", "Prathet", "Togolese", "Guiana", "Congo", "Montenegrin", "Mann",
     "Mannin", "the Abode of Peace", "Mexicanos", "Portuguesa", "Holy See, Vatican City State"}
)  # fmt: skip
# How a name reads inside a question: "the Netherlands", and Georgia apart from the US state.
_TAKES_ARTICLE = _codes(
    "USA GBR ARE NLD PHL MDV SYC COM CZE CAF DOM COD COG MHL SLB CYM COK FRO FLK CCK MNP TCA"
    " VGB VIR ALA PCN FSM IMN IOT ATF HMD UMI BHS GMB"
)
_QUESTION_NAMES = {"GEO": "Georgia (the country)"}
# Uninhabited or composite entries that make implausible distractors.
_NOT_DISTRACTORS = _codes("ATA BVT HMD UMI IOT ATF SGS BES")
# Capitals: corrected spellings or renamings, with accepted alternatives.
_CAPITAL_OVERRIDES: dict[str, tuple[str, ...]] = {
    "USA": ("Washington, D.C.", "Washington D.C.", "Washington DC", "Washington",
            "District of Columbia"),
    "KAZ": ("Astana", "Nur-Sultan"),
    "PYF": ("Papeete",),
    "GUM": ("Hagåtña", "Agana"),
    "MMR": ("Naypyidaw", "Nay Pyi Taw", "Naypyitaw"),
    "KIR": ("South Tarawa", "Tarawa"),
    "CHE": ("Bern", "Berne"),
    "UKR": ("Kyiv", "Kiev"),
    "MNG": ("Ulaanbaatar", "Ulan Bator"),
    "YEM": ("Sanaa", "Sana'a"),
    "TCD": ("N'Djamena",),
    "SMR": ("San Marino", "City of San Marino"),
    "LUX": ("Luxembourg", "Luxembourg City"),
    "DJI": ("Djibouti", "Djibouti City"),
    "ISL": ("Reykjavík",),
    "TWN": ("Taipei",),
}  # fmt: skip
# Capitals that are disputed, split between cities, recently moved or not really capitals.
_NO_CAPITAL = _codes("ISR PSE BOL ZAF SWZ LKA NRU TKL MSR ESH HKG MAC VAT BES IOT BDI GNQ UMI")
# Transcontinental, Antarctic or remote territories whose continent is debatable.
_NO_CONTINENT = _codes(
    "RUS TUR KAZ AZE GEO ARM CYP EGY TTO ABW CUW BES BVT ATF HMD SGS IOT CXR CCK UMI ATA"
)
_CALLING_CODE_OVERRIDES = {"KAZ": "7"}
_NO_CALLING_CODE = _codes("VAT")  # assigned +379 but never used


@dataclass(frozen=True)
class _Country:
    iso2: str
    iso3: str
    name: str
    names: tuple[str, ...]
    capitals: tuple[str, ...]  # empty when dropped
    continent: str | None
    calling_code: str | None
    group: str  # subregion, for picking plausible distractors

    @property
    def in_sentence(self) -> str:
        if self.iso3 in _QUESTION_NAMES:
            return _QUESTION_NAMES[self.iso3]
        return f"the {self.name}" if self.iso3 in _TAKES_ARTICLE else self.name


def _continent(row: Mapping[str, Any]) -> str | None:
    region = row.get("region") or ""
    if region in ("Africa", "Asia", "Europe", "Oceania"):
        return region
    if region == "Americas":
        if row.get("intermediateregion") == "South America":
            return "South America"
        return "North America"  # Northern America, Central America and the Caribbean
    return None


def _country_names(row: Mapping[str, Any], iso2: str, iso3: str, name: str) -> tuple[str, ...]:
    alts = [
        alt
        for alt in (a.strip() for a in row.get("altSpellings") or [])
        if alt not in (iso2, iso3, *_BAD_ALT_NAMES) and "," not in alt and _ascii(alt).isascii()
    ]
    # Source names such as "Virgin Islands, British" are index forms, not answers.
    source = row["name"] if "," not in row["name"] and "(" not in row["name"] else name
    return _variants(name, source, *_EXTRA_NAMES.get(iso3, ()), *alts)


@functools.cache
def _countries() -> tuple[_Country, ...]:
    from countryinfo import CountryInfo

    out: dict[str, _Country] = {}
    for row in CountryInfo.all().values():
        iso = row.get("ISO") or {}
        iso2, iso3 = iso.get("alpha2") or "", iso.get("alpha3") or ""
        numeric = str(iso.get("numeric") or "")
        if row["name"] in _SKIP_ENTRIES or not (numeric.isdigit() and len(iso2) == 2):
            continue
        name = _NAME_OVERRIDES.get(iso3, row["name"])
        capital = row.get("capital") if isinstance(row.get("capital"), str) else ""
        capitals = _CAPITAL_OVERRIDES.get(iso3, (capital.strip(),) if capital.strip() else ())
        codes = [c for c in row.get("callingCodes") or [] if c]
        code = _CALLING_CODE_OVERRIDES.get(iso3)
        if code is None and len(codes) == 1 and codes[0].isdigit() and len(codes[0]) <= 3:
            code = codes[0]  # longer codes are NANP area codes or malformed
        if iso3 in out:  # a silent overwrite would make the result depend on file order
            raise RuntimeError(f"countryinfo has two usable entries for {iso3}")
        out[iso3] = _Country(
            iso2=iso2,
            iso3=iso3,
            name=name,
            names=_country_names(row, iso2, iso3, name),
            capitals=() if iso3 in _NO_CAPITAL else _variants(*capitals),
            continent=None if iso3 in _NO_CONTINENT else _continent(row),
            calling_code=None if iso3 in _NO_CALLING_CODE else code,
            group=row.get("intermediateregion") or row.get("subregion") or "",
        )
    return tuple(sorted(out.values(), key=lambda c: c.iso3))


def _near(country: _Country, rows: Sequence[_Country], item_id: str) -> list[_Country]:
    """Other countries, same subregion first."""
    others = [r for r in rows if r.iso3 != country.iso3 and r.iso3 not in _NOT_DISTRACTORS]
    return _by_closeness(lambda r: r.group != country.group, others, item_id)


def _country_drafts() -> list[_Draft]:
    rows = _countries()
    drafts: list[_Draft] = []
    capital_counts = Counter(normalize_answer(c.capitals[0]) for c in rows if c.capitals)
    continents = ("Africa", "Asia", "Europe", "North America", "South America", "Oceania")

    for c in rows:
        slug = _slug(c.name)
        if c.capitals:
            item_id = f"capital-of/{slug}"
            pool = [r.capitals[0] for r in _near(c, [r for r in rows if r.capitals], item_id)]
            drafts.append(
                _Draft(item_id, f"What is the capital of {c.in_sentence}?", c.capitals, tuple(pool))
            )
            capital = normalize_answer(c.capitals[0])
            country = normalize_answer(c.name)
            # Skip reverse questions that are shared ("Kingston") or give the answer away
            # ("Mexico City").
            if capital_counts[capital] == 1 and country not in capital and capital not in country:
                item_id = f"country-with-capital/{_slug(c.capitals[0])}"
                pool = [r.name for r in _near(c, rows, item_id)]
                drafts.append(
                    _Draft(
                        item_id,
                        f"Which country or territory has {c.capitals[0]} as its capital?",
                        c.names,
                        tuple(pool),
                    )
                )
        if c.continent:
            item_id = f"continent-of/{slug}"
            pool = _by_closeness(lambda x: 0, continents, item_id)
            drafts.append(
                _Draft(
                    item_id,
                    f"On which continent is {c.in_sentence} located?",
                    (c.continent,),
                    tuple(pool),
                )
            )
        if c.calling_code:
            item_id = f"calling-code-of/{slug}"
            pool = [r.calling_code for r in _near(c, rows, item_id) if r.calling_code]
            drafts.append(
                _Draft(
                    item_id,
                    f"What is the international telephone calling code of {c.in_sentence}?",
                    (c.calling_code, f"+{c.calling_code}"),
                    tuple(pool),
                )
            )
        same_letter = _by_closeness(
            lambda r, c=c: r.iso2[0] != c.iso2[0],
            [r for r in rows if r.iso3 not in _NOT_DISTRACTORS or r.iso3 == c.iso3],
            f"iso/{slug}",
        )
        drafts.append(
            _Draft(
                f"iso2-code-of/{slug}",
                f"What is the two-letter ISO 3166-1 country code of {c.in_sentence}?",
                (c.iso2,),
                tuple(r.iso2 for r in same_letter),
            )
        )
        drafts.append(
            _Draft(
                f"iso3-code-of/{slug}",
                f"What is the three-letter ISO 3166-1 country code of {c.in_sentence}?",
                (c.iso3,),
                tuple(r.iso3 for r in same_letter),
            )
        )
        drafts.append(
            _Draft(
                f"country-with-iso3/{c.iso3.lower()}",
                f"Which country or territory has the three-letter ISO 3166-1 code {c.iso3}?",
                c.names,
                tuple(r.name for r in same_letter if r.iso3 != c.iso3),
            )
        )
    return drafts


# ---------------------------------------------------------------------------
# Chemical elements (periodictable)
# ---------------------------------------------------------------------------

# IUPAC spellings first; periodictable uses the American ones.
_ELEMENT_SPELLINGS = {
    "aluminum": ("aluminium", "aluminum"),
    "cesium": ("caesium", "cesium"),
    "sulfur": ("sulfur", "sulphur"),
}


def _element_drafts() -> list[_Draft]:
    import periodictable

    elements = sorted((e for e in periodictable.elements if e.number > 0), key=lambda e: e.number)
    names = {e.number: _ELEMENT_SPELLINGS.get(e.name, (e.name,)) for e in elements}
    drafts: list[_Draft] = []
    for e in elements:
        spelled = names[e.number]
        titled = tuple(n.capitalize() for n in spelled)
        slug = _slug(spelled[0])

        def nearby(item_id: str, e: Any = e) -> list[Any]:
            # Neighbours in the table and elements sharing an initial are easy to confuse.
            return _by_closeness(
                lambda x: min(abs(x.number - e.number), 3 if x.symbol[0] == e.symbol[0] else 9),
                [x for x in elements if x.number != e.number],
                item_id,
            )

        item_id = f"symbol-of/{slug}"
        drafts.append(
            _Draft(
                item_id,
                f"What is the chemical symbol of {spelled[0]}?",
                (e.symbol,),
                tuple(x.symbol for x in nearby(item_id)),
            )
        )
        item_id = f"element-with-symbol/{e.symbol.lower()}"
        drafts.append(
            _Draft(
                item_id,
                f"Which chemical element has the symbol {e.symbol}?",
                titled,
                tuple(names[x.number][0].capitalize() for x in nearby(item_id)),
            )
        )
        item_id = f"atomic-number-of/{slug}"
        drafts.append(
            _Draft(
                item_id,
                f"What is the atomic number of {spelled[0]}?",
                (str(e.number), _number_words(e.number)),
                tuple(str(n) for n in _numbers_near(e.number, item_id, low=1, high=118)),
            )
        )
        item_id = f"element-with-number/{e.number}"
        drafts.append(
            _Draft(
                item_id,
                f"Which chemical element has the atomic number {e.number}?",
                titled,
                tuple(names[x.number][0].capitalize() for x in nearby(item_id)),
            )
        )
    return drafts


def _numbers_near(n: int, item_id: str, *, low: int, high: int, spread: int = 4) -> list[int]:
    near = [m for m in range(n - spread, n + spread + 1) if m != n and low <= m <= high]
    return _by_closeness(lambda m: abs(m - n), near, item_id)


# ---------------------------------------------------------------------------
# US states (us)
# ---------------------------------------------------------------------------

_STATE_EXTRA_NAMES = {"Washington": ("Washington State",)}


def _state_drafts() -> list[_Draft]:
    import us

    states = sorted(us.states.STATES, key=lambda s: s.name)
    drafts: list[_Draft] = []
    for s in states:
        slug = _slug(s.name)
        names = (s.name, *_STATE_EXTRA_NAMES.get(s.name, ()))
        others = [o for o in states if o.abbr != s.abbr]
        phrase = f"the U.S. state of {s.name}"

        item_id = f"state-capital-of/{slug}"
        drafts.append(
            _Draft(
                item_id,
                f"What is the capital of {phrase}?",
                _variants(s.capital),
                tuple(o.capital for o in _by_closeness(lambda o: 0, others, item_id)),
            )
        )
        item_id = f"state-with-capital/{_slug(s.capital)}"
        drafts.append(
            _Draft(
                item_id,
                f"Which U.S. state has {s.capital} as its capital?",
                (*names, s.abbr),
                tuple(o.name for o in _by_closeness(lambda o: 0, others, item_id)),
            )
        )
        item_id = f"state-abbreviation-of/{slug}"
        same_letter = _by_closeness(lambda o, s=s: o.abbr[0] != s.abbr[0], others, item_id)
        drafts.append(
            _Draft(
                item_id,
                f"What is the two-letter postal abbreviation of {phrase}?",
                (s.abbr,),
                tuple(o.abbr for o in same_letter),
            )
        )
        item_id = f"state-with-abbreviation/{s.abbr.lower()}"
        drafts.append(
            _Draft(
                item_id,
                f"Which U.S. state has the postal abbreviation {s.abbr}?",
                names,
                tuple(o.name for o in same_letter),
            )
        )
        item_id = f"statehood-year-of/{slug}"
        year = int(s.statehood_year)
        drafts.append(
            _Draft(
                item_id,
                f"In what year did {s.name} become a U.S. state?",
                (str(year),),
                tuple(str(y) for y in _numbers_near(year, item_id, low=1776, high=1959)),
            )
        )
    return drafts


# ---------------------------------------------------------------------------
# Embedded set
# ---------------------------------------------------------------------------

FAMILIES = (
    "capital-of",
    "country-with-capital",
    "continent-of",
    "calling-code-of",
    "iso2-code-of",
    "iso3-code-of",
    "country-with-iso3",
    "symbol-of",
    "element-with-symbol",
    "atomic-number-of",
    "element-with-number",
    "state-capital-of",
    "state-with-capital",
    "state-abbreviation-of",
    "state-with-abbreviation",
    "statehood-year-of",
)


@functools.cache
def _embedded() -> tuple[TriviaItem, ...]:
    drafts = _country_drafts() + _element_drafts() + _state_drafts()
    items = sorted((d.finish() for d in drafts), key=lambda it: it.id)
    ids = [it.id for it in items]
    if len(set(ids)) != len(ids):
        raise RuntimeError("embedded trivia ids are not unique")
    return tuple(items)


@functools.cache
def _embedded_selection(
    split: str | None, families: tuple[str, ...] | None
) -> tuple[TriviaItem, ...]:
    if split is not None and split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS} or None")
    unknown = set(families or ()) - set(FAMILIES)
    if unknown:
        raise ValueError(f"unknown families {sorted(unknown)}; known: {FAMILIES}")
    return tuple(
        it
        for it in _embedded()
        if (split is None or it.split == split) and (families is None or it.family in families)
    )


def load_embedded(
    split: str | None = None, families: Sequence[str] | None = None
) -> list[TriviaItem]:
    """Embedded questions sorted by id, optionally one split (train/dev/test) and families.

    Splits are 80/10/10 by a SHA-256 of the item id, so they do not depend on file order,
    library order or PYTHONHASHSEED. Built once per process and cached.
    """
    fams = None if families is None else tuple(sorted(set(families)))
    return list(_embedded_selection(split, fams))


def split_fingerprint(items: Iterable[TriviaItem]) -> str:
    """SHA-256 over the ids, questions and answers of ``items``, in id order."""
    digest = hashlib.sha256()
    for it in sorted(items, key=lambda it: it.id):
        digest.update(json.dumps([it.id, it.question, list(it.answers)]).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


# ---------------------------------------------------------------------------
# TriviaQA
# ---------------------------------------------------------------------------

TRIVIAQA_HUB_ID = "mandarjoshi/trivia_qa"


def _triviaqa_item(row: Mapping[str, Any], split: str) -> TriviaItem:
    answer = row.get("answer") or {}
    names = [answer.get("value") or "", *(answer.get("aliases") or [])]
    names += list(answer.get("human_answers") or [])
    seen: set[str] = set()
    answers: list[str] = []
    for name in _dedupe(names):
        norm = normalize_answer(name)
        if norm and norm not in seen:
            seen.add(norm)
            answers.append(name)
    return TriviaItem(
        id=f"triviaqa/{row['question_id']}",
        question=" ".join(str(row["question"]).split()),
        answers=tuple(answers),
        family="triviaqa",
        split=split,
    )


def load_triviaqa(
    split: str = "validation",
    config: str = "rc.nocontext",
    limit: int | None = None,
    data_files: str | Sequence[str] | Mapping[str, Any] | None = None,
    cache_dir: str | None = None,
) -> list[TriviaItem]:
    """TriviaQA questions with all aliases (value, aliases and human answers, deduplicated).

    ``split`` is a TriviaQA split ("train", "validation"), or "dev"/"test": two disjoint
    halves of "validation" chosen by a hash of the question id (TriviaQA's own test split
    has no public answers). Without ``data_files`` the data come from the Hugging Face hub
    (or its local cache); with them, from local JSON/JSONL/Parquet files in the same schema.
    A mapping of ``data_files`` is keyed by split; a single file or list is the whole set.
    Items without any non-empty answer are dropped; ``limit`` keeps the first ``limit``.
    """
    from datasets import load_dataset

    source_split = "validation" if split in ("dev", "test") else split
    if data_files is None:
        ds = load_dataset(TRIVIAQA_HUB_ID, config, split=source_split, cache_dir=cache_dir)
    else:
        first = next(iter(data_files.values())) if isinstance(data_files, Mapping) else data_files
        first = first if isinstance(first, str) else next(iter(first))
        builder = "parquet" if str(first).endswith(".parquet") else "json"
        file_split = source_split if isinstance(data_files, Mapping) else "train"
        ds = load_dataset(builder, data_files=data_files, split=file_split, cache_dir=cache_dir)

    # Only three columns are read; skipping the (possibly large) evidence columns is faster.
    ds = ds.select_columns(
        [c for c in ("question", "question_id", "answer") if c in ds.column_names]
    )
    items: list[TriviaItem] = []
    for row in ds:
        if split in ("dev", "test") and _half_of_validation(str(row["question_id"])) != split:
            continue
        item = _triviaqa_item(row, split)
        if item.answers:
            items.append(item)
            if limit is not None and len(items) >= limit:
                break
    return items


def _half_of_validation(question_id: str) -> str:
    return "dev" if _stable_int("triviaqa/" + question_id) % 2 == 0 else "test"


# ---------------------------------------------------------------------------
# JSONL
# ---------------------------------------------------------------------------


def load_jsonl(path: str | Path, split: str = "test") -> list[TriviaItem]:
    """Questions from a JSONL file of ``{"question": str, "answers": [str, ...]}`` lines.

    An optional ``id`` (string or integer) names the item; otherwise it is
    ``<file stem>/<line number>``. Blank lines are skipped. The file is one split: ``split``
    only labels the items. Malformed lines raise ``ValueError`` naming the line number.
    """
    path = Path(path)
    items: list[TriviaItem] = []
    seen: set[str] = set()
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            item = _jsonl_item(line, lineno, path, split)
            if item.id in seen:
                raise ValueError(f"{path}:{lineno}: duplicate id {item.id!r}")
            seen.add(item.id)
            items.append(item)
    return items


def _jsonl_item(line: str, lineno: int, path: Path, split: str) -> TriviaItem:
    where = f"{path}:{lineno}"
    try:
        row = json.loads(line)
    except json.JSONDecodeError as err:
        raise ValueError(f"{where}: not valid JSON ({err.msg})") from None
    if not isinstance(row, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(row).__name__}")
    question = row.get("question")
    if not isinstance(question, str) or not question.strip():
        raise ValueError(f"{where}: 'question' must be a non-empty string")
    answers = row.get("answers")
    if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
        raise ValueError(f"{where}: 'answers' must be a list of strings")
    answers = _dedupe(answers)
    if not answers:
        raise ValueError(f"{where}: 'answers' has no non-empty answer")
    raw_id = row.get("id", f"{path.stem}/{lineno}")
    if isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)) or not str(raw_id).strip():
        raise ValueError(f"{where}: 'id' must be a non-empty string or an integer")
    return TriviaItem(
        id=str(raw_id),
        question=" ".join(question.split()),
        answers=answers,
        family=str(row.get("family") or "jsonl"),
        split=split,
    )


# ---------------------------------------------------------------------------
# Dispatch
# ---------------------------------------------------------------------------


def load_questions(source: str = "embedded", split: str = "test", **kw: Any) -> list[TriviaItem]:
    """Questions from ``"embedded"``, ``"triviaqa"`` or a path ending in ``.jsonl``.

    Extra keyword arguments go to :func:`load_embedded`, :func:`load_triviaqa` or
    :func:`load_jsonl`.
    """
    if source == "embedded":
        return load_embedded(split, **kw)
    if source == "triviaqa":
        return load_triviaqa(split, **kw)
    if source.endswith(".jsonl"):
        return load_jsonl(source, split=split, **kw)
    raise ValueError(f"unknown question source {source!r}: use 'embedded', 'triviaqa' or a .jsonl")
