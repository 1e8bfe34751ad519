"""Exercise sheets: a seeded network and sample, its questions and its answers."""

from __future__ import annotations

import re

import numpy as np
import pytest

import layerkit as lk


def test_the_same_seed_gives_the_same_sheets_and_another_seed_others():
    a, b, c = lk.exercise_sheet(seed=3), lk.exercise_sheet(seed=3), lk.exercise_sheet(seed=4)
    assert (a.questions, a.answers) == (b.questions, b.answers)
    assert a.questions != c.questions


def test_questions_leave_every_computed_number_blank_and_answers_fill_them():
    sheet = lk.exercise_sheet(seed=1, layers=(3, 2, 2), learning_rate=0.5)
    trace = sheet.trace
    questions, answers = sheet.questions, sheet.answers
    # the same numbered equations on both sheets
    tags_q = re.findall(r"\\tag\{(\d+)\}", questions)
    tags_a = re.findall(r"\\tag\{(\d+)\}", answers)
    assert tags_q == tags_a and len(tags_q) > 10
    assert "\\underline{\\hphantom" in questions and "\\underline" not in answers
    computed = [trace.cost, *np.ravel(trace.layers[-1].delta), *np.ravel(trace.layers[0].z)]
    computed += [*np.ravel(trace.layers[0].updated["W"])]
    for value in computed:
        assert f"{value:.4f}" in answers
        assert f"{value:.4f}" not in questions
    # the givens are on both
    for value in np.ravel(trace.layers[0].W):
        assert f"{value:.4f}" in questions and f"{value:.4f}" in answers
    assert questions.startswith("## Exercise 1: questions")
    assert answers.startswith("## Exercise 1: answers")


def test_drawn_numbers_have_the_requested_decimals_and_ranges():
    sheet = lk.exercise_sheet(seed=8, layers=(4, 3, 2), decimals=1)
    for layer in sheet.trace.layers:
        for value in layer.params.values():
            np.testing.assert_allclose(value * 10, np.round(value * 10), atol=1e-12)
            assert np.all(np.abs(value) <= 1.0)
    x = sheet.trace.x
    assert np.all((x >= 0) & (x <= 1))
    np.testing.assert_allclose(x * 10, np.round(x * 10), atol=1e-12)
    assert sheet.trace.y.sum() == 1.0  # one-hot target


def test_the_trace_of_a_sheet_is_the_network_s_own():
    sheet = lk.exercise_sheet(seed=2, layers=(2, 3, 2), loss="categorical_crossentropy")
    assert sheet.network.layers[-1].activation.name == "softmax"
    assert sheet.trace.fused
    assert sheet.trace.cost == pytest.approx(sheet.network.loss(sheet.trace.x, sheet.trace.y))


def test_text_sheets_number_the_questions_with_blanks():
    sheet = lk.exercise_sheet(seed=5, format="text", learning_rate=None)
    assert "(1) z(2) = W(2) a(1) + b(2)" in sheet.questions
    assert "______" in sheet.questions and "______" not in sheet.answers
    assert "Update" not in sheet.answers
    assert str(sheet) == sheet.questions


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"layers": (2,)}, "layers must list 2 to 5 widths"),
        ({"layers": (2, 7, 1)}, "1 to 6 units"),
        ({"layers": "2,2,1"}, "sequence of layer widths"),
        ({"decimals": 4}, "decimals"),
        ({"format": "pdf"}, "format"),
        ({"seed": -1}, "seed"),
        ({"notation": "maths"}, "notation"),
    ],
)
def test_bad_sheet_arguments_are_refused_by_name(kwargs, words):
    with pytest.raises((lk.LayerkitValueError, lk.LayerkitTypeError), match=words):
        lk.exercise_sheet(**kwargs)
