"""The local analyzer's behaviours, one at a time (the eval set measures it as a whole)."""

from __future__ import annotations

from typing import Any

import pytest

from shared.insights.analysis import AnalysisFailed
from shared.insights.local import LocalAnalyzer, guess_language
from shared.insights.model import Model


@pytest.fixture(scope="module")
def analyzer(request: pytest.FixtureRequest) -> LocalAnalyzer:
    weights = request.config.getoption("--insights-weights")  # a candidate of --select
    return LocalAnalyzer(model=Model.load(weights)) if weights else LocalAnalyzer()


def chat(*turns: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"role": role, "content": text} for role, text in turns]


def test_a_resolved_friendly_conversation(analyzer: LocalAnalyzer) -> None:
    result = analyzer.analyze(
        chat(
            ("user", "How do I export my invoices as PDF?"),
            ("assistant", "Open Billing, then Invoices, and click Export as PDF."),
            ("user", "Perfect, found it. Thank you!"),
        )
    )
    assert result.sentiment == "positive"
    assert 0.2 <= result.sentiment_score <= 1
    assert result.task_completed is True
    assert result.issues == []
    assert any("invoices" in topic or "pdf" in topic for topic in result.topics)
    assert result.summary.startswith("The user asked: “How do I export my invoices as PDF?”")
    assert "Export as PDF" in result.summary


def test_the_end_weighs_more_than_the_start(analyzer: LocalAnalyzer) -> None:
    start_bad = chat(
        ("user", "The app is broken."),
        ("assistant", "I've reset your cache and the app is working again."),
        ("user", "Okay it works now, thanks."),
    )
    end_bad = chat(
        ("user", "Thanks for the quick answer earlier."),
        ("assistant", "Please reinstall the app."),
        ("user", "It is still broken. This is terrible."),
    )
    assert analyzer.analyze(start_bad).sentiment_score > 0
    assert analyzer.analyze(end_bad).sentiment_score < 0


def test_the_users_turns_weigh_more_than_the_assistants(analyzer: LocalAnalyzer) -> None:
    result = analyzer.analyze(
        chat(
            ("user", "My refund still hasn't arrived. This is awful."),
            ("assistant", "I'm so sorry! I'm happy to help, thank you for your patience!"),
        )
    )
    # The assistant's gushing last turn cannot make an unhappy user's conversation positive.
    assert result.sentiment_score < 0


def test_a_user_who_swings_is_mixed(analyzer: LocalAnalyzer) -> None:
    result = analyzer.analyze(
        chat(
            ("user", "This is the worst service, I'm furious!"),
            ("assistant", "I've refunded the order."),
            ("user", "Thank you so much, that's great."),
        )
    )
    assert result.sentiment == "mixed"
    assert "Frustration: the user expressed frustration" in result.issues


def test_sarcasm_reads_as_negative(analyzer: LocalAnalyzer) -> None:
    result = analyzer.analyze(
        chat(("user", "My order is late."), ("assistant", "Delays happen."), ("user", "Oh great."))
    )
    assert result.sentiment == "negative"
    assert "Sarcasm: the user complained through sarcasm" in result.issues


def test_sarcastic_but_served_is_negative_and_completed(analyzer: LocalAnalyzer) -> None:
    result = analyzer.analyze(
        chat(
            ("user", "Oh wonderful, the code expires before it even arrives. Love that for me."),
            ("assistant", "I've switched your codes to email. Try logging in again."),
            ("user", "ok I'm in. thanks I guess"),
        )
    )
    assert result.sentiment == "negative"
    assert result.task_completed is True


def test_a_politeness_masked_complaint_is_not_positive(analyzer: LocalAnalyzer) -> None:
    result = analyzer.analyze(
        chat(
            (
                "user",
                "I'm sure you're very busy, but this is the third time I ask about my refund!",
            ),
            ("assistant", "I'm sorry, a colleague will get back to you within 5 business days."),
            ("user", "Thank you."),
        )
    )
    assert result.sentiment == "negative"
    assert result.task_completed is False
    assert "Repeated request: the user had to ask again" in result.issues


def test_angry_then_resolved_is_mixed_in_each_language(analyzer: LocalAnalyzer) -> None:
    for angry, assistant, pleased in [
        ("C'est inacceptable !! Je suis prélevée deux fois", "J'ai remboursé le doublon.",
         "Parfait, merci beaucoup !"),
        ("Es inaceptable, es la tercera vez que escribo", "He reembolsado el pedido.",
         "¡Perfecto, muchas gracias!"),
        ("Das ist eine Frechheit, schon dreimal angerufen", "Ich habe es erstattet.",
         "Perfekt, vielen Dank!"),
    ]:  # fmt: skip
        result = analyzer.analyze(
            chat(("user", angry), ("assistant", assistant), ("user", pleased))
        )
        assert (result.sentiment, result.task_completed) == ("mixed", True), angry


def test_plain_politeness_is_neutral(analyzer: LocalAnalyzer) -> None:
    result = analyzer.analyze(
        chat(
            ("user", "What are your opening hours on Saturday?"),
            ("assistant", "On Saturdays we are open from 9 am to 1 pm."),
            ("user", "ok thanks"),
        )
    )
    assert result.sentiment == "neutral"
    assert result.task_completed is True


def test_topics_are_domain_terms_never_filler(analyzer: LocalAnalyzer) -> None:
    result = analyzer.analyze(
        chat(
            ("user", "Bonjour, mon colis n'est toujours pas livré depuis trois jours, merci."),
            ("assistant", "Je vérifie le suivi de votre colis."),
            ("user", "Merci, c'est le troisième jour aujourd'hui."),
        )
    )
    assert result.topics[0] == "delivery"
    filler = {"time", "days", "jours", "today", "aujourd'hui", "merci", "thanks", "great"}
    assert not filler & {word for topic in result.topics for word in topic.split()}


def test_failure_signals_mean_not_completed(analyzer: LocalAnalyzer) -> None:
    result = analyzer.analyze(
        chat(
            ("user", "The import fails."),
            ("assistant", "Try saving the file as UTF-8."),
            ("user", "Still not working. Forget it."),
        )
    )
    assert result.task_completed is False


def test_an_unanswered_last_question_is_an_issue(analyzer: LocalAnalyzer) -> None:
    result = analyzer.analyze(
        chat(("user", "I have a billing question"), ("assistant", "Sure."), ("user", "Why?"))
    )
    assert result.task_completed is False
    assert result.issues[0].startswith("Unanswered question")


def test_repeats_escalation_and_tool_errors_are_issues(analyzer: LocalAnalyzer) -> None:
    result = analyzer.analyze(
        [
            {"role": "user", "content": "Please cancel my order 7790 today"},
            {"role": "tool", "content": '{"error": "order service timed out"}'},
            {"role": "assistant", "content": "Something went wrong."},
            {"role": "user", "content": "Please cancel my order 7790 today, I said"},
            {"role": "user", "content": "Let me speak to a manager."},
        ]
    )
    kinds = [issue.split(":")[0] for issue in result.issues]
    assert kinds == ["Repeated request", "Escalation", "Tool failure", "Not completed"]


def test_tool_messages_without_text_are_not_spoken_turns(analyzer: LocalAnalyzer) -> None:
    result = analyzer.analyze(
        [
            {"role": "user", "content": "Schedule a call with Sam on Friday."},
            {"role": "tool", "content": "", "toolCalls": [{"name": "calendar.create"}]},
            {"role": "assistant", "content": "The call has been scheduled for Friday."},
        ]
    )
    assert result.task_completed is True


def test_non_english_words_carry_sentiment(analyzer: LocalAnalyzer) -> None:
    assert analyzer.turn_score("Perfecto, muchas gracias") > 0.3
    assert analyzer.turn_score("C'est inacceptable, je suis déçu") < -0.3
    assert guess_language("Die App funktioniert nicht und ich bin enttäuscht") == "de"
    assert guess_language("hello") == "en"


def test_nothing_to_analyze_is_a_permanent_failure(analyzer: LocalAnalyzer) -> None:
    with pytest.raises(AnalysisFailed):
        analyzer.analyze([{"role": "tool", "content": ""}, {"role": "system", "content": "x"}])


def test_insights_shape(analyzer: LocalAnalyzer) -> None:
    result = analyzer.analyze(chat(("user", "Hi"), ("assistant", "Hello!")))
    stored = result.insights("2025-01-20T14:35:00.000Z", "local")
    assert list(stored) == [
        "sentiment", "sentimentScore", "taskCompleted", "topics", "summary", "issues",
        "createdAt", "analyzer",
    ]  # fmt: skip
    assert -1 <= stored["sentimentScore"] <= 1


def test_japanese_is_read_without_spaces(analyzer: LocalAnalyzer) -> None:
    assert guess_language("ログインできません。パスワードを忘れました。") == "ja"
    angry = analyzer.analyze(
        chat(
            ("user", "注文した商品がまだ届きません。何度も問い合わせているのに、ひどい対応です。"),
            ("assistant", "申し訳ございませんが、担当部署から折り返しご連絡いたします。"),
            ("user", "もういいです。"),
        )
    )
    assert (angry.sentiment, angry.task_completed) == ("negative", False)
    assert angry.topics[:2] == ["delivery", "order"]
    assert "Repeated request: the user had to ask again" in angry.issues
    pleased = analyzer.analyze(
        chat(
            ("user", "ログインできません。パスワードを忘れました。"),
            ("assistant", "パスワード再設定のリンクを送信しました。"),
            ("user", "ログインできました\uff01本当にありがとうございます、助かりました。"),
        )
    )
    assert (pleased.sentiment, pleased.task_completed) == ("positive", True)
    assert pleased.topics == ["login", "password reset"]  # never a whole sentence from YAKE
    assert pleased.summary.startswith("The user asked: “ログインできません。”")


def test_every_japanese_topic_name_is_a_topic() -> None:
    from shared.insights import lexicon

    assert set(lexicon._TOPICS_JA) <= set(lexicon.TOPICS)


def test_grudging_endings_are_complaints_in_each_language(analyzer: LocalAnalyzer) -> None:
    for grudging in (
        "finally. would've been nice to know the size limit upfront but ok. thanks",
        "Geld ist da. Hätte auch gestern schon so gehen können, aber gut, danke.",
        "vale. gracias, aunque podríais avisar mejor de las renovaciones",
        "Je vous remercie, même si ça ne règle pas vraiment mon problème.",
        "Typisch. Ja, machen Sie.",
        "llevo media hora con esto, tengo 40 productos que subir",
        "Ich hab schon einen Tag mit eurem Formular verloren.",
        "I'm afraid I lost a whole morning on this.",
    ):
        assert analyzer.cues(grudging).complaint >= 0.5, grudging
    for plain in (
        "ok thanks",
        "Vale, gracias.",
        "Danke, bis dann.",
        "Merci, bonne journée.",
        "I never bought anything, I'm afraid.",  # politeness, not fear
        "el robot aspirador Roomba está más barato en otra tienda",  # a product
    ):
        assert analyzer.cues(plain).complaint == 0, plain


def test_an_apology_for_ones_tone_is_mixed_in_each_language(analyzer: LocalAnalyzer) -> None:
    for angry, apology in [
        ("Es la tercera vez que llamo, es inaceptable.", "Perdone que me haya puesto borde."),
        ("è la terza volta che provo, che senso ha???", "ok grazie, scusa se ero un po' nervosa"),
        ("WHERE ARE MY NOTES. this is unacceptable", "sorry for shouting, thank you so much"),
    ]:  # fmt: skip
        result = analyzer.analyze(
            chat(("user", angry), ("assistant", "Done, it is fixed now."), ("user", apology))
        )
        assert result.sentiment == "mixed", apology


def test_a_chat_the_user_walked_away_from_is_not_completed(analyzer: LocalAnalyzer) -> None:
    for closing in (
        "Are you still there? This chat will close after 10 minutes of inactivity.",
        "Olá, ainda está aí? Você pode voltar a este chat mais tarde.",
        "Ti ho messo in coda. Un operatore ti risponderà qui.",
    ):
        result = analyzer.analyze(
            chat(
                ("user", "I want to cancel my internet service, account 440129385"),
                ("assistant", "Sure. Can you confirm the account holder's name?"),
                ("user", "hang on"),
                ("assistant", closing),
            )
        )
        assert result.task_completed is False, closing


def test_a_negated_success_is_no_success(analyzer: LocalAnalyzer) -> None:
    for worked in ("funciona", "è arrivato", "chegou", "ça fonctionne", "it works now"):
        assert analyzer.cues(worked).worked, worked
    for negated in ("no funciona", "non è arrivato", "não chegou", "ça ne fonctionne pas"):
        assert not analyzer.cues(negated).worked, negated


def test_peoples_names_are_never_topics(analyzer: LocalAnalyzer) -> None:
    result = analyzer.analyze(
        chat(
            ("user", "Hi Denise, it's Kevin Tran. Transferring the Okafor family plan lines?"),
            ("assistant", "Yes, the new holder needs a credit check first."),
            (
                "user",
                "Bonjour,\n\nLe bouton Clôturer l'exercice est grisé, Dr. Helen Marsh "
                "attend le FEC.\n\nCordialement,\nPatrick Vasseur",
            ),
        )
    )
    named = {"denise", "kevin", "tran", "helen", "marsh", "patrick", "vasseur"}
    assert not named & {word for topic in result.topics for word in topic.split()}
    assert result.topics  # the rest still names what it is about
