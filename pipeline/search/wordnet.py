"""The WordNet adapter: the only module that imports nltk. It gives the offline concept search its
synonyms and its "is a kind of" links (a malamute is a dog, a dog is an animal).

The database is Princeton WordNet 3.0 as Debian's `wordnet-base` package installs it
(/usr/share/wordnet): ImageNet's class ids are WordNet 3.0 noun offsets, so its 1000 classes are
found in it directly. nltk reads such a database as it is, but for one table Debian leaves out:
`lexnames`, the numbers of WordNet's 45 lexicographer files (documented in lexnames(5WN)), which
nltk reads when it opens the database. `install` assembles a folder that nltk accepts: copies of
Debian's files (nltk refuses links that lead out of the folder), and that table.

    python -m pipeline.search.wordnet install [--out var/models/wordnet] [--source /usr/share/wordnet]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from functools import cache
from pathlib import Path
from typing import Any

from pipeline.files import written_whole

DEBIAN_WORDNET = Path("/usr/share/wordnet")
DEFAULT_OUT = Path("var/models/wordnet")
_DATABASE_FILES = ("data.noun", "index.noun", "noun.exc", "data.verb", "index.verb", "verb.exc", "data.adj",
                   "index.adj", "adj.exc", "data.adv", "index.adv", "adv.exc", "cntlist.rev")  # fmt: skip
# WordNet 3.0's lexicographer files, by number (lexnames(5WN)): the table Debian does not ship.
LEXICOGRAPHER_FILES = (
    "adj.all", "adj.pert", "adv.all", "noun.Tops", "noun.act", "noun.animal", "noun.artifact", "noun.attribute",
    "noun.body", "noun.cognition", "noun.communication", "noun.event", "noun.feeling", "noun.food", "noun.group",
    "noun.location", "noun.motive", "noun.object", "noun.person", "noun.phenomenon", "noun.plant",
    "noun.possession", "noun.process", "noun.quantity", "noun.relation", "noun.shape", "noun.state",
    "noun.substance", "noun.time", "verb.body", "verb.change", "verb.cognition", "verb.communication",
    "verb.competition", "verb.consumption", "verb.contact", "verb.creation", "verb.emotion", "verb.motion",
    "verb.perception", "verb.possession", "verb.social", "verb.stative", "verb.weather", "adj.ppl",
)  # fmt: skip
_CATEGORY = {"adj": 3, "adv": 4, "noun": 1, "verb": 2}


class WordNetUnavailable(RuntimeError):
    """The WordNet database is not installed; the message says how to get it."""


def install(out: str | Path = DEFAULT_OUT, *, source: str | Path = DEBIAN_WORDNET) -> Path:
    """Assemble `out` from the database in `source` (copies, plus the lexnames table)."""
    source, out = Path(source), Path(out)
    missing = [name for name in _DATABASE_FILES if not (source / name).is_file()]
    if missing:
        raise WordNetUnavailable(
            f"WordNet 3.0 is not in {source} (missing {', '.join(missing[:3])}): install Debian's wordnet-base "
            "(apt-get install wordnet-base); without it the offline search matches concept names only"
        )
    out.mkdir(parents=True, exist_ok=True)
    for name in _DATABASE_FILES:
        with written_whole(out / name, out / f"{name}.part") as partial:
            shutil.copyfile(source / name, partial)
    table = "".join(f"{number:02d}\t{name}\t{_CATEGORY[name.split('.')[0]]}\n"
                    for number, name in enumerate(LEXICOGRAPHER_FILES))  # fmt: skip
    # Written last: is_installed takes the table for the sign of a whole folder.
    with written_whole(out / "lexnames", out / "lexnames.part") as partial:
        partial.write_text(table)
    return out


def is_installed(folder: str | Path) -> bool:
    folder = Path(folder)
    return (folder / "lexnames").is_file() and all((folder / name).exists() for name in _DATABASE_FILES)


@cache
def load(folder: str) -> Any:
    """nltk's reader over an installed folder, once per process (WordNetUnavailable when absent)."""
    if not is_installed(folder):
        raise WordNetUnavailable(f"WordNet is not installed in {folder}: run `python -m pipeline.search.wordnet "
                                 f"install --out {folder}` (needs Debian's wordnet-base)")  # fmt: skip
    import warnings

    import nltk
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    # nltk reads corpora only from folders on its data path.
    resolved = str(Path(folder).resolve())
    if resolved not in nltk.data.path:
        nltk.data.path.append(resolved)

    class WordNet30(WordNetCorpusReader):
        def map_wn(self, version: str = "wordnet") -> None:
            """No mapping: nltk maps other versions onto its own downloaded WordNet 3.0 for the
            multilingual data, which this reader neither has nor needs (this database is 3.0)."""
            return None

    with warnings.catch_warnings():  # "multilingual functions are not available": none are used
        warnings.simplefilter("ignore", UserWarning)
        return WordNet30(resolved, None)


def base_forms(net: Any, form: str, pos: str = "n") -> list[str]:
    """Every base form WordNet knows for a word form ("clocks" -> clocks, clock), by its
    exception lists and suffix rules."""
    return list(net._morphy(form, pos))


def stem(word: str) -> str:
    """The Porter stem of one lowercase word ("clocks", "clocking" -> "clock"); needs no database."""
    from nltk.stem.porter import PorterStemmer

    return _porter(PorterStemmer).stem(word)


@cache
def _porter(kind: type) -> Any:
    return kind()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.search.wordnet")
    parser.add_argument("command", choices=["install"])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--source", type=Path, default=DEBIAN_WORDNET)
    options = parser.parse_args(argv)
    try:
        folder = install(options.out, source=options.source)
    except WordNetUnavailable as error:
        print(f"WordNet not installed: {error}", file=sys.stderr)
        return 1
    print(f"WordNet installed at {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
