"""The one text fold insights and clusters both match words with."""

from shared.clusters import embedding
from shared.insights import local, model
from shared.textfold import fold


def test_fold_lowercases_drops_accents_and_writes_sharp_s_and_apostrophes_plainly() -> None:
    assert fold("Élan À Straße") == "elan a strasse"
    assert fold("Ça n\u2019a pas marché") == "ca n'a pas marche"  # the typographic apostrophe
    assert fold("\uff21\uff22\uff23") == "abc"  # full-width letters, as NFKD writes them


def test_fold_keeps_japanese_voicing_marks() -> None:
    # ご and こ, ば and は are different sounds (and words): kana are recomposed after folding.
    assert fold("ご連絡いたします") == "ご連絡いたします"
    assert fold("バグ") != fold("ハク")


def test_insights_and_clusters_fold_with_the_same_function() -> None:
    assert embedding.fold is fold
    assert local.fold is fold
    assert model.fold is fold
