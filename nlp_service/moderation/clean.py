"""Whether a comment is surely clean, asked in one C call (``_speedups.clean_comment``).

Most comments are clean (97 % of the demo archive's distinct texts), and :func:`detect.moderate`
proved it with find_patterns' gates (up to six regex searches and a translation), the
lexicon's exact and homophone walks (a translation through the readings, two table walks,
a regex for Latin words), the classifier's n-gram walk and sum, and the group-name walk,
with Python between them: ~57K instructions a comment of the demo archive with every text
distinct, ~42K as is. The C call asks the same questions in one pass each (~5K), and says True
only when every one of them has the clean answer; False means "not sure" (a Latin word, a
listed term, a homophone, a detector that may run, a flag, a group named), and ``moderate``
then runs its general path, which decides. So a result can only differ if the C call said
clean where the general path would not: tests/moderation/test_clean.py checks that it
never does (hypothesis, and every text of the demo archive), and that each gate it reads
is the Python gate's own answer.

Measured on the demo archive (20,232 rows, ``valgrind --tool=callgrind python -m
nlp_service.cli score FILE -o o.parquet --quiet --workers 1``, less a run on a 10-row file and
less OpenBLAS's idle thread, whose spinning varies from run to run): 101.5K → 88.0K
instructions a row as is, 150.1K → 122.5K with every text distinct; a comment's moderation
alone 42K → 22K as is, 57K → 28K distinct.
"""

from __future__ import annotations

from nlp_service.core.speedups import clean_comment
from nlp_service.moderation.classifier import ModerationClassifier
from nlp_service.moderation.lexicon import Lexicon
from nlp_service.moderation.patterns import ADDRESS_PAIRS, gate_lookup
from nlp_service.moderation.readings import sound_lookup
from nlp_service.text.normalize import Normalized


def clean_layout(lexicon: Lexicon, classifier: ModerationClassifier | None) -> tuple | None:
    """What ``clean_comment`` reads of a lexicon and a classifier (the C comment lists it), or
    None where the build is missing (then every comment takes the general path)."""
    if clean_comment is None:
        return None
    vocabulary = matrix = biases = thresholds = groups = None
    if classifier is not None:
        vocabulary, matrix = classifier.vocabulary_table, memoryview(classifier.matrix)  # a cheap buffer to ask for
        biases, thresholds = classifier.biases, classifier.logit_thresholds
        if vocabulary is None:
            return None
        if classifier.group is not None:  # the group rule is off without a group model
            groups = lexicon.context.group_table  # type: ignore[attr-defined]
    return (*gate_lookup(), ADDRESS_PAIRS, *sound_lookup(), lexicon.term_table, lexicon.sound_table, groups, vocabulary, matrix, biases, thresholds)


def surely_clean(norm: Normalized, lexicon: Lexicon, classifier: ModerationClassifier | None) -> bool:
    """True when :func:`detect.moderate` (with no extra categories) surely answers clean;
    False when its general path must decide."""
    cached = lexicon.clean_layout
    if cached is None or cached[0] is not classifier:  # made once per lexicon and classifier
        cached = lexicon.clean_layout = (classifier, clean_layout(lexicon, classifier))
    layout = cached[1]
    return layout is not None and clean_comment(norm.original, norm.text, layout)
