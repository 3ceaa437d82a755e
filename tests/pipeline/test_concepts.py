"""The offline concept vocabulary: ImageNet's and COCO's concepts tied to WordNet, and the lexical
matcher that turns a query's words into them (issue 16). WordNet is the one `make install` puts
into var/models/wordnet from Debian's wordnet-base."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline.coco import COCO_NAMES
from pipeline.search import wordnet
from pipeline.search.concepts import COCO, IMAGENET, vocabulary
from pipeline.search.tagging import offline_frame_tags

WORDNET = str(Path(__file__).resolve().parents[2] / "var" / "models" / "wordnet")


@pytest.fixture(scope="module")
def words():
    assert wordnet.is_installed(WORDNET), f"WordNet is not in {WORDNET}: `make install` puts it there"
    return vocabulary(WORDNET)


def _terms(words, query: str) -> dict[str, set[str]]:
    return {term.term: set(term.concepts) for term in words.match(query).terms}


def test_the_vocabulary_is_imagenet_in_class_order_then_coco(words):
    imagenet = [concept for concept in words.concepts if concept.source == IMAGENET]
    coco = [concept for concept in words.concepts if concept.source == COCO]
    assert len(imagenet) == 1000 and [concept.index for concept in imagenet] == list(range(1000))
    assert imagenet[0].name == "tench" and imagenet[409].name == "analog clock"  # ImageNet's own numbering
    assert [concept.name for concept in coco] == list(COCO_NAMES)
    assert len({concept.name for concept in imagenet}) == 1000, "each ImageNet name is its own"
    assert {"crane (wading bird)", "kite (bird)"} <= {concept.name for concept in imagenet}


def test_a_general_word_finds_every_kind_of_it(words):
    dogs = _terms(words, "dogs")["dogs"]
    assert {"dog", "malamute", "German shepherd", "Chihuahua"} <= dogs
    assert "hotdog" not in dogs, "the usual sense of dog, not the sausage"
    assert _terms(words, "clock")["clock"] == {"analog clock", "digital clock", "wall clock", "clock"}
    assert {"sorrel", "horse"} <= _terms(words, "a photo of horses")["horses"]


def test_synonyms_and_longer_names_match(words):
    assert {"car", "convertible", "cab"} <= _terms(words, "automobile")["automobile"]
    assert _terms(words, "wall clock") == {"wall clock": {"wall clock"}}, "the longest name that matches wins"


def test_a_word_with_nothing_below_it_climbs_to_what_it_is_a_kind_of(words):
    assert _terms(words, "a woman")["woman"] == {"person"}
    assert _terms(words, "puppy")["puppy"] == {"dog"}
    assert "person" in _terms(words, "people")["people"], "a group is matched by its members"


def test_words_are_matched_one_term_at_a_time_and_unknown_ones_are_named(words):
    match = words.match("a dog and a zxqvw at the seashore")
    assert [term.term for term in match.terms] == ["dog", "seashore"]
    assert match.unmatched == ("zxqvw",)
    assert match.suggestions == (), "suggestions only when nothing matched"


def test_nothing_matched_gets_the_closest_names(words):
    match = words.match("analgo clcok")
    assert not match.matched
    assert "analog clock" in match.suggestions
    assert len(words.match("zxqvw").suggestions) == 5


def test_stored_tags_are_matched_by_their_stems(words):
    match = words.match("train stations", ["a train station", "night"])
    assert "a train station" in match.terms[0].concepts


def test_without_wordnet_names_still_match_by_their_stems():
    names_only = vocabulary(None)
    assert names_only.net is None
    assert set(names_only.match("clocks").terms[0].concepts) == {"clock"}
    assert names_only.match("wall clocks").terms[0].concepts == ("wall clock",)


def test_offline_frame_tags_keep_sure_classes_and_objects_and_join_shared_names():
    probabilities = np.zeros(1000, np.float32)
    probabilities[[409, 879, 3]] = [0.5, 0.3, 0.01]  # analog clock, umbrella, a shark too unlikely to keep
    names = [f"class {index}" for index in range(1000)]
    names[409], names[879] = "analog clock", "umbrella"
    labels = np.array([COCO_NAMES.index("umbrella"), COCO_NAMES.index("person"), COCO_NAMES.index("person"),
                       COCO_NAMES.index("dog")])  # fmt: skip
    scores = np.array([0.5, 0.9, 0.6, 0.2], np.float32)

    tags = offline_frame_tags(probabilities, labels, scores, imagenet_names=names, coco_names=list(COCO_NAMES),
                              imagenet_threshold=0.05, coco_threshold=0.4)  # fmt: skip

    assert tags == {"analog clock": 0.5, "umbrella": pytest.approx(1 - 0.7 * 0.5, abs=1e-4), "person": 0.9}


def test_matching_words_loads_no_torch():
    # Web processes answer offline text searches with the vocabulary alone: no model, no torch.
    script = (
        "import sys; from pipeline.search.concepts import vocabulary;"
        f"assert vocabulary({WORDNET!r}).match('dogs').terms;"
        "print(sorted(name for name in ('torch', 'torchvision', 'timm', 'onnxruntime') if name in sys.modules))"
    )
    root = Path(__file__).resolve().parents[2]
    run = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=120,
                         check=True)  # fmt: skip
    assert run.stdout.strip() == "[]"


def test_installing_wordnet_without_the_debian_database_says_what_to_install(tmp_path):
    with pytest.raises(wordnet.WordNetUnavailable, match=r"apt-get install wordnet-base"):
        wordnet.install(tmp_path / "out", source=tmp_path / "nothing-here")
    assert not (tmp_path / "out").exists(), "nothing half-made is left"
    with pytest.raises(wordnet.WordNetUnavailable, match=r"pipeline\.search\.wordnet install"):
        wordnet.load(str(tmp_path / "out"))


def test_the_install_command_assembles_a_folder_nltk_reads(tmp_path):
    folder = wordnet.install(tmp_path / "wordnet", source=Path(WORDNET))
    net = wordnet.load(str(folder))
    assert net.synset_from_pos_and_offset("n", 4548280).name() == "wall_clock.n.01"  # ImageNet's n04548280
