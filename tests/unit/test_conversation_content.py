"""Parsing `content` (both formats: structured JSON and "Role: text" lines) into messages, and
rendering messages back."""

from __future__ import annotations

import json

import pytest

from shared.conversations.content import parse_content, render, split_turns
from shared.errors import BadRequest


def turns(text: str) -> list[tuple[str, str]]:
    return split_turns(text)


def test_the_seed_example() -> None:
    assert turns("User: Hello\nAssistant: Hi! How can I help?") == [
        ("user", "Hello"),
        ("assistant", "Hi! How can I help?"),
    ]


@pytest.mark.parametrize(
    ("user", "assistant"),
    [("User", "Assistant"), ("Human", "AI"), ("Customer", "Agent")],
)
def test_every_label_pair(user: str, assistant: str) -> None:
    assert turns(f"{user}: a\n{assistant}: b") == [("user", "a"), ("assistant", "b")]


@pytest.mark.parametrize("label", ["user:", "USER:", "uSeR:", "  User:", "User :", "User\t:"])
def test_labels_are_case_insensitive_and_may_be_padded(label: str) -> None:
    assert turns(f"{label} hello\nai: there") == [("user", "hello"), ("assistant", "there")]


def test_a_turn_runs_until_the_next_label_over_several_lines() -> None:
    text = "User: first line\nsecond line\n\n  indented third\nAssistant: ok"
    assert turns(text) == [
        ("user", "first line\nsecond line\n\n  indented third"),
        ("assistant", "ok"),
    ]


def test_a_label_alone_on_its_line_takes_the_following_lines() -> None:
    assert turns("User:\n  code()\nAssistant:\nfine") == [
        ("user", "  code()"),
        ("assistant", "fine"),
    ]


def test_windows_and_old_mac_newlines() -> None:
    assert turns("User: a\r\nb\r\nAssistant: c\rHuman: d\r\n") == [
        ("user", "a\nb"),
        ("assistant", "c"),
        ("user", "d"),
    ]


def test_labels_inside_message_text_are_text() -> None:
    text = "User: I said 'Assistant: hi' to it. AI: no\nAssistant: Human: is not a label here"
    assert turns(text) == [
        ("user", "I said 'Assistant: hi' to it. AI: no"),
        ("assistant", "Human: is not a label here"),
    ]


def test_words_that_start_like_labels_are_text() -> None:
    assert turns("User: hi\nUsername: bob\nAIs: many\nAgents: two") == [
        ("user", "hi\nUsername: bob\nAIs: many\nAgents: two")
    ]


def test_blank_lines_between_turns_are_dropped() -> None:
    assert turns("\n\nUser: a\n\n\nAssistant: b\n\n") == [("user", "a"), ("assistant", "b")]


def test_a_label_with_no_text_is_skipped() -> None:
    assert turns("User: hello\nAssistant:\nUser:   \nUser: still there?") == [
        ("user", "hello"),
        ("user", "still there?"),
    ]


def test_text_before_the_first_label_is_a_system_message() -> None:
    assert turns("Transcript of call 42\n\nUser: hi") == [
        ("system", "Transcript of call 42"),
        ("user", "hi"),
    ]


def test_system_and_tool_labels_so_a_rendering_parses_back() -> None:
    messages = [
        {"role": "system", "content": "Be kind."},
        {"role": "user", "content": "two\nlines"},
        {"role": "assistant", "content": "ok"},
        {"role": "tool", "content": "42"},
    ]
    text = render(messages)
    assert text == "System: Be kind.\nUser: two\nlines\nAssistant: ok\nTool: 42"
    assert [m.model_dump(exclude_none=True) for m in parse_content(text).messages] == messages


@pytest.mark.parametrize("text", ["", "   ", "just words", "Bob: hi", "\n\n"])
def test_text_without_labels_is_refused(text: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_content(text)
    assert caught.value.details is not None
    assert set(caught.value.details) == {"content"}


def test_only_empty_turns_is_no_message() -> None:
    assert parse_content("User:\nAssistant:").messages == []


# --- JSON form ----------------------------------------------------------------------------------


def test_the_json_form_with_metadata() -> None:
    content = json.dumps(
        {
            "messages": [
                {"role": "user", "content": "Hello", "timestamp": "2025-01-20T14:30:00Z"},
                {"role": "assistant", "content": "Hi!", "model": "gpt-4o", "tokens": 3},
            ],
            "metadata": {"userId": "u1", "channel": "web"},
        }
    )
    parsed = parse_content("  " + content)
    assert [m.stored() for m in parsed.messages] == [
        {"role": "user", "content": "Hello", "timestamp": "2025-01-20T14:30:00.000Z"},
        {"role": "assistant", "content": "Hi!", "model": "gpt-4o", "tokens": 3},
    ]
    assert parsed.metadata == {"userId": "u1", "channel": "web"}


@pytest.mark.parametrize(
    ("content", "field"),
    [
        ("{nope", "content"),
        ('{"messages": "x"}', "content.messages"),
        ('{"messages": [{"role": "user", "content": 1}]}', "content.messages[0].content"),
        (
            '{"messages": [{"role": "user", "content": "a", "tokens": true}]}',
            "content.messages[0].tokens",
        ),
        ('{"messages": [], "other": 1}', "content.other"),
        ('{"messages": [{"role": "user", "content": "a"}], "metadata": 3}', "content.metadata"),
    ],
)
def test_a_bad_json_form_names_the_field(content: str, field: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_content(content)
    assert caught.value.details is not None
    assert field in caught.value.details, caught.value.details


def test_a_json_form_that_is_not_an_object_is_text() -> None:
    # It does not start with "{": read as text, and has no labels.
    with pytest.raises(BadRequest):
        parse_content('[{"role": "user"}]')
