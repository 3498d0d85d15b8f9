"""The search bench's corpus: 1,000,000 messages of one tenant in 100,000 conversations, as lake
rows (docs/search.md, the lake contract), generated deterministically by DuckDB from word lists
of seven languages (English most, then French, German, Spanish, Chinese, Arabic, Russian), with
the metadata and filter columns a real tenant has. Cached under bench/.cache/ (gitignored): the
first run writes it in ~10 s, later runs reuse it.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

CACHE = Path(__file__).resolve().parent / ".cache" / "search"
TENANT = "bench-tenant"
MESSAGES = 1_000_000
CONVERSATIONS = 100_000
DAYS = 30  # partitions: one compacted file per UTC day
CORPUS_VERSION = 1  # bump when the generator changes, so a stale cache is not reused


def _words(text: str) -> list[str]:
    return text.split()


# Customer-support and agent talk; the order is the frequency rank (a Zipf-like draw).
ENGLISH = _words("""
the to and a i you is for it my of in this that can be with on have your please we order
not do help account thanks me what how will are was but if there an get just need at so
would like our one from payment when time there about card refund any check number
could they know issue email here problem see back service all more no up also again out
which make billing subscription plan invoice charge charged delivery shipping package
password login error update change cancel cancelled cancellation return returned price
customer support agent ticket reset address phone team week today tomorrow yesterday
month product app website page browser mobile download install crash slow fast working
broken fixed replace replacement exchange warranty receipt discount coupon code promo
credit debit bank transfer paypal wallet balance fee late upgrade downgrade trial free
premium annual monthly renewal renew expired expire confirm confirmation verification
verify identity document upload photo screen settings notification message chat call
email callback manager escalate escalation complaint feedback review rating survey
tracking courier damaged missing wrong item size color quantity stock available
unavailable restock backorder preorder estimated arrival weekend holiday hours open
closed store location pickup appointment schedule reschedule booking reservation
flight hotel seat baggage luggage gate boarding passport visa insurance claim policy
coverage deductible premium quote contract terms privacy data delete export report
refunds refunded refunding charges invoices orders deliveries passwords accounts
analytics dashboard api key token integration webhook latency timeout outage incident
model prompt completion tokens context window embedding vector search retrieval answer
""")
FRENCH = _words("""
le la les de des un une et je vous il elle nous est pas pour que qui dans sur avec mon
votre commande paiement remboursement café livraison colis adresse compte mot passe
problème aide merci bonjour facture abonnement annulation retour échange garantie
prix client service équipe téléphone courriel réponse délai retard reçu carte bancaire
""")
GERMAN = _words("""
der die das und ich sie ist nicht ein eine zu mit auf für von den dem ist mein ihr
bestellung zahlung rückerstattung lieferung paket adresse konto passwort problem hilfe
danke hallo rechnung abonnement kündigung rücksendung umtausch garantie preis kunde
straße größe übermäßig geschäft mitarbeiter antwort verspätung karte überweisung
""")
SPANISH = _words("""
el la los las de un una y yo usted es no para que en con mi su por del al pedido
pago reembolso entrega paquete dirección cuenta contraseña problema ayuda gracias hola
factura suscripción cancelación devolución cambio garantía precio cliente servicio
teléfono respuesta retraso tarjeta niño año señor canción información
""")
CHINESE = _words("""
我 你 的 是 了 不 在 有 这 个 想要 退款 订单 支付 付款 发货 快递 地址 账户 密码 问题
帮助 谢谢 你好 发票 订阅 取消 退货 换货 保修 价格 客户 服务 电话 回复 延迟 银行卡
""")
ARABIC = _words("""
أنا أنت هو هي في من على إلى مع هذا هذه لا نعم طلب الدفع استرداد التوصيل الطرد
العنوان الحساب كلمة المرور مشكلة مساعدة شكرا مرحبا فاتورة الاشتراك إلغاء إرجاع
""")
RUSSIAN = _words("""
я вы он она в на с и не это что как мой ваш заказ оплата возврат доставка посылка
адрес аккаунт пароль проблема помощь спасибо здравствуйте счёт подписка отмена
обмен гарантия цена клиент служба телефон ответ задержка карта деньги
""")

# (language, word list, share of conversations, joiner): Chinese is written without spaces.
LANGUAGES = [
    ("en", ENGLISH, 0.55, " "),
    ("fr", FRENCH, 0.10, " "),
    ("de", GERMAN, 0.10, " "),
    ("es", SPANISH, 0.10, " "),
    ("zh", CHINESE, 0.05, ""),
    ("ar", ARABIC, 0.05, " "),
    ("ru", RUSSIAN, 0.05, " "),
]


def _sql_list(words: list[str]) -> str:
    return "[" + ", ".join("'" + w.replace("'", "''") + "'" for w in words) + "]"


def corpus_dir() -> Path:
    return CACHE / f"corpus-v{CORPUS_VERSION}-{MESSAGES}"


def lake_dir() -> Path:
    """The corpus as a lake: records/tenant=…/date=…/compacted-1.parquet."""
    return corpus_dir() / "lake"


def ensure_corpus() -> Path:
    """Writes the corpus once (atomically: a finished marker), returns the lake folder."""
    done = corpus_dir() / "done"
    if done.exists():
        return lake_dir()
    lake = lake_dir()
    lake.mkdir(parents=True, exist_ok=True)
    db = duckdb.connect()
    db.execute("SET preserve_insertion_order = false")
    cases = []
    bound = 0.0
    for code, words, share, joiner in LANGUAGES:
        bound += share
        cases.append((code, bound, joiner, words))
    # Per conversation: a language (by share), an environment, a model, a plan; per message
    # a role alternating user/assistant, 6-30 words drawn log-uniformly (rank 1 most often).
    # h() is UBIGINT: h() makes it a BIGINT that list indexing takes.
    db.execute("CREATE MACRO h(x) AS (hash(x) % 1000000007)::BIGINT")
    lang_case = " ".join(f"WHEN u_lang < {b} THEN '{c}'" for c, b, _, _ in cases)
    text_case = " ".join(
        f"WHEN lang = '{c}' THEN array_to_string(list_transform(range(n_words), "
        f"j -> {_sql_list(w)}[least({len(w)}, "
        f"floor(exp((h(i * 131 + j) % 100000) / 100000.0 * ln({len(w)})))::BIGINT)]), '{j}')"
        for c, _, j, w in cases
    )
    db.execute(
        f"""
        CREATE TEMP TABLE corpus AS
        WITH base AS (
            SELECT i, i // 10 AS conv, i % 10 AS pos,
                   (h(i // 10) % 1000000) / 1000000.0 AS u_lang,
                   6 + h(i * 7) % 25 AS n_words
            FROM range({MESSAGES}) t(i)
        ), typed AS (
            SELECT *, CASE {lang_case} ELSE 'en' END AS lang FROM base
        )
        SELECT
            '{TENANT}' AS tenant_id,
            'conv_' || lpad(conv::VARCHAR, 6, '0') AS conversation_id,
            'rec_' || lpad(i::VARCHAR, 8, '0') AS record_id,
            (['chat', 'chat', 'chat', 'channel', 'email', 'call', 'tool_call', 'otel',
              'conversations'])[1 + h(conv * 3) % 9] AS source,
            CASE WHEN pos % 2 = 0 THEN 'user' ELSE 'assistant' END AS role,
            (['production', 'production', 'production', 'staging', 'development'])
                [1 + h(conv * 5) % 5] AS environment,
            (['gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4', 'llama-3-70b'])
                [1 + h(conv * 11) % 4] AS model,
            (['openai', 'openai', 'anthropic', 'meta'])[1 + h(conv * 11) % 4] AS provider,
            TIMESTAMP '2026-01-01' + to_microseconds(
                (h(conv * 13) % ({DAYS} * 86400 - 3600))::BIGINT * 1000000 + pos * 30000000
            ) AS ts,
            lpad(pos::VARCHAR, 4, '0') AS seq,
            CASE {text_case} END AS text,
            CASE WHEN pos % 2 = 1 THEN 50 + h(i) % 500 END::BIGINT AS input_tokens,
            CASE WHEN pos % 2 = 1 THEN 20 + h(i * 3) % 300 END::BIGINT AS output_tokens,
            CASE WHEN pos % 2 = 1 THEN 200 + h(i * 5) % 3000 END::BIGINT AS latency_ms,
            '{{"plan": "' || (['free', 'pro', 'enterprise'])[1 + h(conv * 17) % 3]
                || '", "customer": {{"tier": "'
                || (['bronze', 'silver', 'gold'])[1 + h(conv * 19) % 3]
                || '", "region": "' || (['eu', 'us', 'apac'])[1 + h(conv * 23) % 3]
                || '"}}, "lang": "' || lang || '"}}' AS metadata,
            NULL::VARCHAR AS status,
            NULL::VARCHAR AS insights,
            1::BIGINT AS version,
            false AS deleted
        FROM typed
        """
    )
    days = db.execute("SELECT DISTINCT CAST(ts AS DATE)::VARCHAR FROM corpus ORDER BY 1").fetchall()
    for (day,) in days:
        folder = lake / "records" / f"tenant={TENANT}" / f"date={day}"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / "compacted-1.parquet"
        db.execute(
            f"COPY (SELECT * FROM corpus WHERE CAST(ts AS DATE) = '{day}' ORDER BY ts) "
            f"TO '{target}' (FORMAT parquet, COMPRESSION zstd)"
        )
    done.write_text(json.dumps({"messages": MESSAGES, "days": len(days)}))
    return lake


if __name__ == "__main__":
    import time

    started = time.perf_counter()
    path = ensure_corpus()
    print(f"corpus at {path} in {time.perf_counter() - started:.1f} s")
