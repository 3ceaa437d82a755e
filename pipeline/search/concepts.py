"""The offline concept vocabulary and its lexical matcher: what the scene search understands
without CLIP.

The concepts are what the offline models see: ImageNet's 1000 classes (EfficientNet-Lite0's head)
and COCO's 80 objects (NanoDet-m). Each is tied to its WordNet 3.0 synset (ImageNet's class ids
*are* WordNet noun offsets; COCO's names are looked up, a few senses set by hand below), and
through WordNet's "is a kind of" links to every more general synset: a malamute is a sled dog, a
dog, a canine, an animal. A query is cut into terms (the longest run of words WordNet or the
vocabulary knows: "wall clock", "police car"), each term is turned into its WordNet senses (the
usual ones: "dog" the animal, not the andiron) and matched to every concept that is one of them
or a kind of one; besides, a term matches any concept or stored tag whose words have the same
Porter stems ("clocks" finds "clock"). Without WordNet the stems alone match.

Framework-free and torch-free: web processes answer text searches with it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from pipeline.coco import COCO_NAMES
from pipeline.search import wordnet

IMAGENET = "imagenet"
COCO = "coco"
# COCO names whose first WordNet sense is not the object COCO means (a kite is a toy here, not a
# forged cheque), or that WordNet spells otherwise.
COCO_SENSES = {
    "stop sign": "street_sign.n.01", "sports ball": "ball.n.01", "kite": "kite.n.03",
    "wine glass": "wineglass.n.01", "cake": "cake.n.03", "hot dog": "hotdog.n.02", "potted plant": "pot_plant.n.01",
    "toilet": "toilet.n.02", "tv": "television_receiver.n.01", "mouse": "mouse.n.04",
    "cell phone": "cellular_telephone.n.01", "microwave": "microwave.n.02", "toaster": "toaster.n.02",
    "book": "book.n.02", "keyboard": "computer_keyboard.n.01",
}  # fmt: skip
# ImageNet's names that COCO uses for another thing: ImageNet's kite is the bird of prey.
IMAGENET_NAMES = {"n01608432": "kite (bird)"}
# Words that carry no concept in a search ("a photo of a dog at night" is about the dog and the night).
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "at",
        "with",
        "and",
        "or",
        "to",
        "for",
        "by",
        "from",
        "into",
        "over",
        "under",
        "near",
        "some",
        "any",
        "this",
        "that",
        "these",
        "those",
        "is",
        "are",
        "was",
        "were",
        "be",
        "there",
        "here",
        "photo",
        "photos",
        "picture",
        "pictures",
        "image",
        "images",
        "scene",
        "scenes",
        "shot",
        "shots",
        "frame",
        "frames",
        "clip",
        "clips",
        "video",
        "videos",
        "footage",
        "showing",
        "shows",
        "show",
        "who",
        "which",
        "where",
    ]
)
# A query word's WordNet senses are kept when they are at least this share as common as its most
# common sense (WordNet's tagged-corpus counts): "dog" is the animal, and not also the sausage.
SENSE_SHARE = 0.25
_LONGEST_TERM = 4  # words
_STEPS_UP = 3  # WordNet levels a query word may climb to a concept it is a kind of


@dataclass(frozen=True)
class Concept:
    name: str  # what a tag is stored under; unique within its source (ImageNet and COCO share a few)
    source: str  # IMAGENET or COCO
    index: int  # the class's index in its model's output
    words: tuple[str, ...]  # its own names: "analog clock", "wall clock", ...
    senses: frozenset[str]  # WordNet synsets it is: its own and every more general one
    own_sense: str | None = None  # its own synset


@dataclass(frozen=True)
class TermMatch:
    term: str  # the words of the query it stands for
    concepts: tuple[str, ...]  # the concept and tag names it matches


@dataclass(frozen=True)
class QueryMatch:
    terms: tuple[TermMatch, ...]
    unmatched: tuple[str, ...]  # query words that match nothing
    suggestions: tuple[str, ...]  # the closest names, when nothing matched at all

    @property
    def matched(self) -> bool:
        return bool(self.terms)


def words_of(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower().replace("'", ""))


def _stem_key(text: str) -> tuple[str, ...]:
    return tuple(wordnet.stem(word) for word in words_of(text) if word not in STOP_WORDS)


def imagenet_classes() -> list[tuple[str, tuple[str, ...]]]:
    """ImageNet-1k's classes in the order of a classifier's outputs: (WordNet id, names), from the
    class lists that timm ships (read as files: importing timm would import torch)."""
    spec = find_spec("timm")
    if spec is None or spec.origin is None:
        raise RuntimeError("timm is not installed: it carries ImageNet's class list (pip install timm)")
    folder = Path(spec.origin).parent / "data" / "_info"
    wnids = (folder / "imagenet_synsets.txt").read_text().split()
    names = dict(line.split("\t", 1) for line in (folder / "imagenet_synset_to_lemma.txt").read_text().splitlines())
    return [(wnid, tuple(name.strip() for name in names[wnid].split(","))) for wnid in wnids]


def _closure(synset: Any) -> frozenset[str]:
    more_general = synset.closure(lambda node: node.hypernyms() + node.instance_hypernyms())
    return frozenset([synset.name(), *(node.name() for node in more_general)])


def build_concepts(net: Any | None) -> tuple[Concept, ...]:
    """The vocabulary: ImageNet's classes, then COCO's objects; `net` is WordNet (None: names only)."""
    concepts: list[Concept] = []
    classes = imagenet_classes()
    first_names = [names[0] for _, names in classes]
    for index, (wnid, names) in enumerate(classes):
        synset = net.synset_from_pos_and_offset("n", int(wnid[1:])) if net is not None else None
        name = IMAGENET_NAMES.get(wnid, names[0])
        if first_names.count(name) > 1:  # "crane" the bird and the machine; "maillot" twice
            general = synset.hypernyms()[0].lemma_names()[0].replace("_", " ") if synset is not None else wnid
            name = f"{name} ({general})"
        concepts.append(Concept(name, IMAGENET, index, names, _closure(synset) if synset else frozenset(),
                                synset.name() if synset else None))  # fmt: skip
    for index, name in enumerate(COCO_NAMES):
        found = []
        if net is not None:
            found = [net.synset(COCO_SENSES[name])] if name in COCO_SENSES else net.synsets(name.replace(" ", "_"), "n")
        concepts.append(Concept(name, COCO, index, (name,), _closure(found[0]) if found else frozenset(),
                                found[0].name() if found else None))  # fmt: skip
    return tuple(concepts)


class Vocabulary:
    """The concepts, indexed for matching queries."""

    def __init__(self, concepts: Iterable[Concept], net: Any | None) -> None:
        self.concepts = tuple(concepts)
        self.net = net
        self.by_sense: dict[str, set[str]] = {}
        self.by_stems: dict[tuple[str, ...], set[str]] = {}
        self.by_own_sense: dict[str, set[str]] = {}
        for concept in self.concepts:
            if concept.own_sense:
                self.by_own_sense.setdefault(concept.own_sense, set()).add(concept.name)
            for sense in concept.senses:
                self.by_sense.setdefault(sense, set()).add(concept.name)
            for word in (concept.name, *concept.words):
                self.by_stems.setdefault(_stem_key(word), set()).add(concept.name)
        self.names = tuple(sorted({concept.name for concept in self.concepts}))

    def _senses(self, term: str) -> set[str]:
        """The usual WordNet noun senses of a term (empty without WordNet or for unknown words)."""
        if self.net is None:
            return set()
        synsets = self.net.synsets(term.replace(" ", "_"), "n")
        if not synsets:
            return set()
        # How often each sense was meant by this word, whatever its inflection: "clocks" is also
        # a plant's name, but mostly the plural of "clock".
        # (and "people" is the plural of "person", by WordNet's own exceptions).
        form = term.replace(" ", "_")
        keys = {_stem_key(base.replace("_", " ")) for base in [form, *wordnet.base_forms(self.net, form)]}
        counts = [sum(item.count() for item in synset.lemmas() if _stem_key(item.name().replace("_", " ")) in keys)
                  for synset in synsets]  # fmt: skip
        most = max(counts)
        if most == 0:
            return {synsets[0].name()}
        return {synset.name() for synset, count in zip(synsets, counts, strict=True) if count >= SENSE_SHARE * most}

    def term_concepts(self, term: str, tags: dict[tuple[str, ...], set[str]] | None = None) -> set[str]:
        """Names of the concepts (and of `tags`, stored tag names by stems) that a term matches."""
        key = _stem_key(term)
        found = set(self.by_stems.get(key, ())) | set((tags or {}).get(key, ()))
        senses = self._senses(term)
        for sense in senses:
            found |= self.by_sense.get(sense, set())
        if found or not senses:
            return found
        # Nothing is a kind of it: take what a group is made of ("people" are persons), or the
        # nearest concept it is a kind of ("a woman" is a person, whom the COCO detector finds),
        # at most a few steps up.
        level = {self.net.synset(sense) for sense in senses}
        for member in {member for synset in level for member in synset.member_meronyms()}:
            found |= self.by_sense.get(member.name(), set())
        if found:
            return found
        for _ in range(_STEPS_UP):
            level = {parent for synset in level for parent in synset.hypernyms() + synset.instance_hypernyms()}
            for synset in level:
                found |= self.by_own_sense.get(synset.name(), set())
            if found:
                break
        return found

    def match(self, query: str, tag_names: Iterable[str] = ()) -> QueryMatch:
        """The query's terms and what each matches; a query that matches nothing gets the closest names."""
        tags: dict[tuple[str, ...], set[str]] = {}
        for name in tag_names:
            tags.setdefault(_stem_key(name), set()).add(name)
        words = [word for word in words_of(query) if word not in STOP_WORDS]
        terms: list[TermMatch] = []
        unmatched: list[str] = []
        position = 0
        while position < len(words):
            for end in range(min(len(words), position + _LONGEST_TERM), position, -1):
                term = " ".join(words[position:end])
                found = self.term_concepts(term, tags)
                if found:
                    terms.append(TermMatch(term, self._plainest_first(term, found)))
                    position = end
                    break
            else:
                unmatched.append(words[position])
                position += 1
        suggestions: tuple[str, ...] = ()
        if not terms:
            suggestions = tuple(self.closest(" ".join(words) or query, extra=tags_flat(tags)))
        return QueryMatch(tuple(terms), tuple(unmatched), suggestions)

    def _plainest_first(self, term: str, names: set[str]) -> tuple[str, ...]:
        """The names a term matched, those spelt like it first ("dog" before the breeds), then
        COCO's objects, then the rest by name."""
        spelt = set(self.by_stems.get(_stem_key(term), ()))
        coco = {concept.name for concept in self.concepts if concept.source == COCO}
        return tuple(sorted(names, key=lambda name: (name not in spelt, name not in coco, name.lower())))

    def closest(self, text: str, *, count: int = 5, extra: Iterable[str] = ()) -> list[str]:
        """The names that look most like `text` (by spelling: it matched no meaning)."""
        names = sorted(set(self.names) | set(extra))
        close = difflib.get_close_matches(text.lower(), names, n=count, cutoff=0.6)
        if len(close) < count:
            close += [name for name in difflib.get_close_matches(text.lower(), names, n=count * 2, cutoff=0.0)
                      if name not in close][: count - len(close)]  # fmt: skip
        return close


def tags_flat(tags: dict[tuple[str, ...], set[str]]) -> list[str]:
    return [name for names in tags.values() for name in names]


@cache
def vocabulary(wordnet_folder: str | None) -> Vocabulary:
    """The vocabulary, once per process; with WordNet from `wordnet_folder` when it is installed."""
    net = None
    if wordnet_folder is not None and wordnet.is_installed(wordnet_folder):
        net = wordnet.load(wordnet_folder)
    return Vocabulary(build_concepts(net), net)
