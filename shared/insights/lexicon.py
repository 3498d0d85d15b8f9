"""The local analyzer's word lists: customer-sentiment cues, task-outcome cues and support
topics, in English, French, Spanish, German (and the commonest Italian/Portuguese words).

Everything here is matched on *folded* text (lowercase, accents dropped: `fold`), so a list
entry is written without accents. Cues are regular expressions; topics map phrases of any
supported language to one English topic name.
"""

from __future__ import annotations

import re
import unicodedata


def fold(text: str) -> str:
    """Lowercase with accents dropped (ß kept as ss), for accent-blind matching."""
    plain = unicodedata.normalize("NFKD", text.lower().replace("ß", "ss"))
    return "".join(c for c in plain if not unicodedata.combining(c)).replace("’", "'")


def _cue(*alternatives: str) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)")


# --- sentiment cues (matched per user turn) ---------------------------------------------------

# Open anger and hard complaints.
ANGER = _cue(
    r"unacceptable", r"ridiculous", r"absurd", r"outrageous", r"unbelievable", r"incredible\.",
    r"scam", r"rip ?off", r"disgrace\w*", r"pathetic", r"useless", r"terrible", r"horrible",
    r"awful", r"worst", r"furious", r"fed up", r"sick of", r"joke", r"insane", r"annoy\w*",
    r"frustrat\w*", r"angry", r"disappointed", r"disappointing", r"what is the point",
    r"fix it", r"how hard can it be", r"waste of (my )?time", r"never again", r"dispute",
    r"chargeback", r"lawyer", r"complaint", r"report you", r"seriously\?*", r"wtf", r"come on",
    r"are you kidding", r"you'?re kidding", r"losing (their|my) minds?", r"not ok(ay)?",
    r"a bot", r"robot",
    # fr
    r"inacceptable", r"inadmissible", r"scandal\w*", r"honteu\w*", r"n'importe quoi",
    r"c'est une blague", r"ras le bol", r"marre", r"nul(le)?", r"lamentable", r"decu\w*",
    r"enerve\w*", r"furieu\w*", r"arnaque", r"inutile", r"pas normal", r"se moque",
    r"vous moquez", r"aberrant", r"incroyable\.", r"serieusement",
    # es
    r"inaceptable", r"vergonzoso", r"vergüenza", r"verguenza", r"indignante", r"harto",
    r"harta", r"estafa", r"timo", r"pesimo", r"una broma", r"increible\.",
    r"es una tomadura", r"no me lo puedo creer", r"enfadad[oa]", r"molest[oa]",
    r"decepcionad[oa]", r"en serio\?", r"ridiculo", r"denuncia\w*", r"reclamacion",
    # de
    r"unverschamt", r"frechheit", r"unmoglich", r"unglaublich", r"katastroph\w*",
    r"schrecklich", r"enttauscht", r"argerlich", r"sauer", r"nie wieder", r"abzocke",
    r"betrug", r"lacherlich", r"eine zumutung", r"zumutung", r"sinnlos", r"nervt",
    r"das kann doch nicht", r"beschwerde", r"anwalt", r"verbraucherzentrale",
    # it / pt
    r"inaccettabile", r"vergogna", r"assurdo", r"ridicolo", r"pessimo", r"inaceitavel",
    r"absurdo", r"ridiculo", r"vergonha",
)
# Sarcasm and grudging praise: positive words that mean the opposite.
SARCASM = _cue(
    r"oh (great|wonderful|perfect|fantastic|lovely|brilliant|joy)", r"love that for me",
    r"just what i needed", r"thanks for nothing", r"yeah,? right", r"love (waiting|being)",
    r"what a (great|wonderful|fantastic) (service|help|experience)", r"so helpful,? (not|really)",
    r"truly (world class|amazing|a masterpiece|impressive|minimalist|\w+ engineering)",
    r"world class", r"living the dream", r"miracles? (happen|do happen)", r"bravo",
    r"thanks,? i guess", r"i guess\.? thanks", r"took (you|them) long enough", r"about time",
    r"well done,? (guys|team)", r"amazing\.", r"great\.", r"wonderful\.", r"fantastic\.",
    r"perfect\.", r"brilliant\.", r"super helpful\.", r"very helpful\.",
    r"really needed that", r"what a surprise", r"shocking\.", r"color me", r"colour me",
    r"you win this round", r"at the speed of", r"carrier pigeon", r"creative writing",
    r"genius", r"good job", r"great timing", r"what a treat", r"the fun part",
    r"don'?t push your luck", r"of course\.", r"wow\.", r"surprise,? surprise",
    r"how (convenient|shocking)", r"sneaky", r"naturally", r"as usual", r"comme d'habitude",
    r"como siempre", r"wie immer", r"pas si complique", r"so schwer war'?s? (doch )?nicht", r"danke fur nichts", r"merci pour rien",
    r"gracias por nada", r"\U0001f643", r"\U0001f644", r"yeah yeah",
    # fr / es / de
    r"genial\.\.\.", r"bravo", r"merci du cadeau", r"super\.\.\.", r"quelle efficacite",
    r"que maravilla", r"fantastico\.", r"muy util\.", r"na toll",
    r"ganz toll", r"super gemacht", r"prima\.", r"herzlichen dank auch", r"klasse\.",
)
# The user gives up, or leaves.
GIVE_UP = _cue(
    r"forget it", r"never mind", r"nevermind", r"i give up", r"i'?ll go elsewhere",
    r"i'?ll just (do|make|call|ask|go|use|figure|wait)", r"i'?ll (do|make) (it|them) (myself|by hand)",
    r"i'?ll (call|ask|email|try) (the|my|someone|somebody|elsewhere)", r"whatever", r"don'?t bother",
    r"i'?m done", r"i'?m (cancell?ing|leaving|switching)",
    r"laisse tomber", r"laissez tomber", r"j'abandonne", r"je vais (voir ailleurs|resilier)",
    r"olvidalo", r"olvidelo", r"da igual", r"dejalo", r"me rindo", r"vergessen sie('?s)?", r"vergiss es", r"egal", r"lassen wir das",
    r"dann eben nicht", r"ich geb'?s? auf", r"woanders", r"ich (mach|mache|schreib|schreibe)"
    r" (das|eine|es) (eben|halt|dann)?", r"lassen sie es", r"moi-meme", r"ailleurs",
    r"(do|fix|figure) it myself", r"i'?ll just", r"por mi cuenta", r"en otro sitio",
    r"je vais le faire", r"lascia perdere", r"deixa pra la", r"esquece",
)
# Having had to ask again or wait long: a complaint even when said politely.
REPEAT = _cue(
    r"already (said|told|asked|explained|tried|did|sent)", r"as i (said|mentioned|explained)",
    r"i repeat", r"(second|third|fourth|fifth|\d+(st|nd|rd|th)) time", r"(twice|three times)",
    r"\d+ times", r"(still|keep) (waiting|getting|not|no|nothing)", r"how many times",
    r"no one (has )?(answered|replied|got back|called)", r"nobody (has )?(answered|replied|"
    r"got back|called|told|said)", r"haven'?t heard", r"no response", r"never heard",
    r"for (two|three|four|five|\d+) (days|weeks|hours)", r"transferred (around|\w+ times)",
    r"deja (dit|demande|explique|essaye|ecrit)", r"encore une fois", r"(deuxieme|troisieme|"
    r"quatrieme) fois", r"toujours (pas|rien|le meme)", r"personne (ne|n')", r"je repete",
    r"ya (te|le|lo|os) (dije|he dicho|explique)", r"otra vez", r"(segunda|tercera|cuarta) vez",
    r"por (segunda|tercera|cuarta) vez", r"sigue sin", r"nadie (me|nos) ha", r"que insista",
    r"schon (gesagt|geschrieben|versucht|zweimal|dreimal)", r"(zweite|dritte|vierte)[ns]? mal",
    r"niemand hat", r"seit (tagen|wochen)",
)
# Softer signs of the same ("still", "again").
STILL = _cue(r"still", r"again", r"yet again", r"toujours", r"encore", r"todavia", r"de nuevo",
             r"immer noch", r"noch immer", r"wieder", r"ancora", r"ainda")
# A complaint wrapped in politeness ("I'm sure you're very busy, but…").
MASKED = _cue(
    r"(i )?(don'?t|do not) want to be (a pain|difficult|a nuisance|a bother|rude|that person)",
    r"hate to be a (bother|pain|nuisance)", r"i'?m sure you'?re (all )?(very |really )?busy",
    r"i know (you'?ve got|you have|you'?re|it'?s not)", r"not your fault", r"with (all )?due "
    r"respect", r"no offen[cs]e", r"i hate to (complain|chase|bother)", r"just (checking|"
    r"following up) (again|once more)", r"i'?d (really )?appreciate (it )?if (someone|you) "
    r"(could|would) (actually|finally)", r"at least",
    r"je ne veux pas (vous )?(embeter|deranger|insister)", r"desole d'insister",
    r"je sais que vous (avez|etes)", r"ce n'est pas (de )?votre faute", r"au moins",
    r"perdon(a|e)? que insista", r"se que (tendreis|tienen|tenes|estais)", r"no es (tu|su) "
    r"culpa", r"no quiero molestar", r"al menos",
    r"(ich )?will (sie|ihnen) (wirklich )?nicht (aufhalten|nerven|storen)",
    r"sie haben bestimmt", r"nicht ihre schuld", r"nichts fur ungut", r"wenigstens",
    r"zumindest",
)
# Disappointment said calmly.
DISAPPOINTED = _cue(
    r"unfortunately", r"too bad", r"shame", r"a pity", r"not what i (hoped|expected|wanted)",
    r"would'?ve been nice", r"would have been nice", r"i was hoping", r"hoped", r"that'?s it\?",
    r"that'?s all\?", r"not great", r"not ideal", r"meh", r"sigh", r"ugh", r"hmm+",
    r"oh well", r"i see\.\.\.", r"tant pis", r"que le vamos a hacer", r"pues nada\.\.\.",
    r"bueno\.\.\.", r"was soll'?s", r"na gut", r"bummer", r"\U0001f615", r"\U0001f61e", r"\U0001f612",
    r"\U0001f620", r"\U0001f621", r"\U0001f624",
    r"dommage", r"malheureusement", r"helas", r"c'est dommage", r"pas terrible", r"bof",
    r"j'esperais", r"vaya", r"uf+", r"lastima", r"no es lo que esperaba",
    r"esperaba", r"lastimosamente", r"schade", r"leider", r"na ja", r"naja",
    r"hatte gehofft", r"could have (been|done|told)", r"should have (been|told|said)",
    r"aurait pu", r"auriez pu", r"podria(is|n)? haber", r"hatte(n)? (auch )?(schon )?\w* ?\w* "
    r"(konnen|sollen)", r"von anfang an", r"peccato", r"purtroppo", r"pena", r"infelizmente",
)
# Warm thanks and praise (plain "thanks"/"ok thanks" is politeness, not sentiment).
DELIGHT = _cue(
    r"thank you so much", r"thanks so much", r"thanks a lot", r"thank you very much",
    r"much appreciated", r"appreciate\w*", r"awesome", r"thank you for actually",
    r"thanks for (the quick|actually|your help|all your help|sorting|fixing)", r"you'?ve done",
    r"gracias,? de verdad", r"merci (pour|de) votre (aide|patience|rapidite)", r"danke fur "
    r"(ihre|die) (hilfe|schnelle)",
    r"amazing(?!\.)", r"perfect(?!\.)", r"great(?!\.)", r"excellent", r"wonderful(?!\.)",
    r"fantastic(?!\.)", r"brilliant(?!\.)", r"lovely", r"love it", r"you'?re the best",
    r"lifesaver", r"life saver", r"super helpful(?!\.)", r"very helpful(?!\.)", r"so helpful",
    r"works perfectly", r"that was (quick|fast|easy)", r"finally!", r"you rock", r"legend",
    r"\U0001f60a", r"\U0001f642", r"\U0001f600", r"\U0001f603", r"\U0001f604", r"\U0001f64f",
    r"\U0001f389", r"\U0001f382", r"\u2764\ufe0f?", r"\U0001f44d", r"!!+\s*$",
    r"merci beaucoup", r"merci mille fois", r"mille mercis", r"parfait", r"genial(?!\.)",
    r"super(?!\.)", r"excellent", r"formidable", r"adorable", r"merci infiniment",
    r"tres efficace", r"rapidite",
    r"muchas gracias", r"mil gracias", r"perfecto", r"estupendo", r"genial(?!\.)",
    r"excelente", r"muy amable", r"muy claro", r"me has salvado", r"maravill\w*",
    r"vielen dank", r"herzlichen dank", r"tausend dank", r"perfekt", r"super", r"toll(?!\.)",
    r"klasse(?!\.)", r"wunderbar", r"prima(?!\.)", r"sehr nett", r"hervorragend",
    r"grazie mille", r"perfetto", r"ottimo", r"muito obrigad[oa]", r"perfeito", r"otimo",
)
# An apology for one's own earlier tone: was angry, is now content.
TONE_APOLOGY = _cue(
    r"sorry (for|about) (the|my) (caps|yelling|tone|rant|shouting|outburst|attitude)",
    r"sorry for (yelling|jumping on you|snapping|being (rude|short|grumpy|snappy))",
    r"sorry i (snapped|was rude|yelled)", r"didn'?t mean to snap",
    r"desole pour (le|mon) ton", r"desolee? (de|pour) (m'etre|mon)", r"excusez(-moi)? (pour|de)"
    r" (le|mon) ton", r"perdon por (el|mi) tono", r"siento (el|mi) tono", r"perdona(me)? por",
    r"entschuldigung fur (den|meinen) ton", r"sorry fur (den|meinen) ton",
    r"tut mir leid,? dass ich",
)
# The user confirms it worked.
WORKED = _cue(
    r"(it|that|this) (worked|works|did it|fixed it|helped)", r"works now", r"working now",
    r"works\.", r"it'?s working", r"i'?m in", r"got (it|the confirmation|the email|it now)",
    r"found it", r"all (good|set|sorted)", r"sorted", r"resolved", r"fixed", r"solved",
    r"received", r"(shows|showing) up", r"came (in|through)", r"no crash", r"exporting",
    r"one message", r"each event once", r"(perfect|great), thanks", r"that'?s it",
    r"ca (a )?marche", r"ca fonctionne", r"fonctionne", r"c'est bon", r"c'est regle",
    r"je le vois", r"j'ai recu", r"bien recu", r"c'est fait", r"parfait",
    r"funciona", r"ya (esta|estaria|me llego|lo tengo|lo veo)", r"con esto ya", r"listo",
    r"me ha llegado", r"resuelto", r"hat (geklappt|funktioniert)", r"klappt", r"funktioniert"
    r"(?! nicht)", r"bin drin", r"passt", r"erledigt", r"angekommen",
    r"funziona", r"risolto", r"deu certo", r"resolvido",
)

# --- task-outcome cues ------------------------------------------------------------------------

# The assistant or a tool says the thing was done.
DONE = _cue(
    r"done", r"all set", r"you'?re all set", r"i'?ve (now )?(processed|issued|booked|sent|"
    r"updated|reset|cancell?ed|refunded|scheduled|created|fixed|added|changed|removed|"
    r"disabled|enabled|applied|credited|moved|switched|unlocked|restored|upgraded|"
    r"downgraded|merged|extended|waived|reactivated|rebooked|redirected)",
    r"has (now )?been (processed|issued|booked|sent|updated|reset|cancell?ed|refunded|"
    r"scheduled|created|fixed|shipped|applied|approved|credited|confirmed|unlocked|restored|"
    r"changed|removed|resolved|redirected|rescheduled)",
    r"(is|are) now (active|live|fixed|working|booked|confirmed|cancell?ed|updated|unlocked)",
    r"confirmation (number|code|email)", r"booking ref", r"booked:", r"confirmed:",
    r"reservation confirmed", r"successfully", r"is approved", r"approved",
    r"c'est (note|fait)", r"j'ai (bien )?(annule|rembourse|modifie|envoye|mis a jour|"
    r"reserve|traite|effectue|applique|change|active|debloque|reinitialise|enregistre)",
    r"(est|a ete) (confirmee?|annulee?|remboursee?|modifiee?|envoyee?|effectuee?|"
    r"reactivee?|debloquee?)", r"reservation confirmee",
    r"hecho", r"listo", r"he (cancelado|reembolsado|actualizado|enviado|cambiado|reservado|"
    r"procesado|modificado|activado|desbloqueado|restablecido|aplicado)",
    r"(ha sido|queda|esta) (cancelad[oa]|reembolsad[oa]|actualizad[oa]|confirmad[oa]|"
    r"reservad[oa]|activad[oa]|modificad[oa])", r"reserva confirmada",
    r"erledigt", r"ich habe (ihr\w* )?(\w+ )?(storniert|erstattet|geandert|aktualisiert|"
    r"gebucht|gesendet|verschickt|zuruckgesetzt|entsperrt|gekundigt|freigeschaltet)",
    r"(ist|wurde) (jetzt |nun )?(storniert|erstattet|geandert|aktualisiert|gebucht|bestatigt|"
    r"entsperrt|gekundigt|freigeschaltet|zuruckgesetzt|eingerichtet)",
    r"fatto", r"ho (annullato|rimborsato|aggiornato|prenotato)", r"feito",
)
# The assistant or a tool says it could not be done, or handed the case on.
NOT_DONE = _cue(
    r"(i )?(can'?t|cannot|can not|am unable to|'m unable to|am not able to|won'?t be able to)",
    r"unable to", r"not (possible|able|available|eligible)", r"unfortunately",
    r"i'?m (so |very )?sorry,? (but|i)", r"couldn'?t do more", r"no way to",
    r"(pass|passed|forward\w*|escalat\w*|hand\w*|transfer\w*|refer\w*) (this|it|you|your "
    r"\w+)? ?(to|over to|on to)", r"escalated", r"specialist will", r"(team|someone|agent) "
    r"will (contact|reach out|get back|follow up|call|reply|be in touch)",
    r"(within|in) \d+ (business |working )?days", r"ticket", r"opened a (case|ticket|request)",
    r"investigation", r"waitlist", r"callback", r"call you back", r"queue",
    r"they'?ll (reach out|contact|call|get back|be in touch|cover|follow up|review)",
    r"end (this|the) call", r"(has|have) not been changed",
    r"(didn'?t|did not|don'?t|do not) (quite )?understand", r"i'?m not sure i understand",
    r"je n'ai pas (bien )?compris", r"no (he|lo he) entendido", r"no entiendo",
    r"nicht verstanden", r"non ho capito", r"fully booked", r"out of stock", r"no (slots|availability)",
    r"(is|are) still (pending|under review|being)", r"under review", r"manual review",
    r"we haven'?t received", r"following up", r"known issue", r"workaround",
    r"ne (peux|pouvons) pas", r"pas possible", r"impossible", r"malheureusement",
    r"n'avons pas la possibilite", r"je transmets", r"transmis", r"un conseiller",
    r"vous recontacter", r"reviendra vers vous", r"ne permet pas",
    r"no (puedo|podemos|es posible|se puede|se pueden)", r"lamento", r"lo siento",
    r"me temo", r"investigacion", r"incidencia", r"un agente", r"le contactara",
    r"se pondra en contacto", r"no hay (forma|manera)",
    r"(kann|konnen) (ich|wir) (leider )?(nicht|keine)", r"nicht moglich", r"leider",
    r"weitergeleitet", r"weiterleiten", r"ein kollege", r"meldet sich",
    r"non (posso|possiamo|e possibile)", r"nao (posso|podemos|e possivel)",
)
# The user's last turn leaves things under way: they went to try, look or think.
PENDING = _cue(
    r"hang on", r"hold on", r"one (sec|second|moment|minute)", r"just a (sec|second|minute|moment)",
    r"give me a (sec|second|minute|moment)", r"let me (check|try|see|look|find)",
    r"i'?ll (try|check|think about it|look|get back|let you know|talk to|discuss)",
    r"attendez", r"un (instant|moment)", r"je (regarde|verifie|cherche)",
    r"je vais (essayer|voir|en parler|regarder|reflechir|verifier)",
    r"a ver", r"espera", r"un momento", r"lo (miro|pruebo|busco)", r"voy a (mirar|probar|"
    r"pensarlo|hablarlo)", r"me lo pienso", r"warte", r"moment", r"ich (schau|probier|"
    r"uberleg)\w*", r"ich melde mich",
)
# The user says it did not work, or ends without getting it.
FAILED = _cue(
    r"thanks? (you )?anyway", r"thanks? (you )?all the same", r"thanks for trying",
    r"thanks for checking", r"merci quand meme", r"merci (tout de meme|malgre tout)",
    r"merci d'avoir (essaye|verifie|cherche)", r"gracias (igualmente|de todas formas|"
    r"de todos modos|por intentarlo)", r"(trotzdem|dennoch) danke", r"danke trotzdem",
    r"grazie (comunque|lo stesso)", r"obrigad[oa] (mesmo assim|de qualquer forma)",
    r"(still|again) (not|doesn'?t|isn'?t|broken|waiting|the same|nothing|no)",
    r"that('?s| was| is) not (the|what|my) (question|i asked)", r"not what i asked",
    r"none of (those|these|that)", r"you'?re not (listening|understanding)",
    r"das war nicht die frage", r"ce n'est pas (la|ma) question", r"c'est pas (la|ma) question",
    r"no es lo que (he )?pregunt\w*", r"eso no es lo que",
    r"(doesn'?t|does not|didn'?t|did not|isn'?t|is not|won'?t|still) (work|help|fix|load|"
    r"arrive|show)", r"not working", r"that'?s not what i", r"doesn'?t answer",
    r"didn'?t answer", r"no answer", r"not an option", r"not helpful",
    r"ca (ne )?marche (toujours )?pas", r"ne fonctionne (toujours )?pas", r"toujours pas",
    r"no funciona", r"sigue sin", r"no me sirve", r"no sirve", r"funktioniert (immer noch )?"
    r"nicht", r"klappt nicht", r"geht (immer noch )?nicht", r"hilft (mir )?nicht",
    r"non funziona", r"nao funciona",
)

# --- topics -----------------------------------------------------------------------------------

# English topic → phrases (folded) in the supported languages; a trailing `*` is a prefix.
TOPICS: dict[str, tuple[str, ...]] = {
    "refund": ("refund*", "reimburs*", "money back", "rembours*", "reembols*", "devolucion del"
               " dinero", "erstatt*", "ruckerstatt*", "geld zuruck", "rimbors*"),
    "double charge": ("charged twice", "double charge*", "duplicate charge*", "double "
                      "prelevement", "preleve deux fois", "prelevee deux fois", "cobrado dos "
                      "veces", "doble cobro", "cobro duplicado", "doppelt abgebucht",
                      "doppelte abbuchung"),
    "invoice": ("invoice*", "factur*", "rechnung*", "fattur*", "fatura*", "receipt*"),
    "billing": ("billing", "charge", "charged", "payment*", "paiement*", "prelevement*",
                "pago*", "cobro*", "zahlung*", "abbuchung*", "pagamento*", "card", "carte",
                "tarjeta", "karte"),
    "subscription": ("subscription*", "abonnement*", "suscripcion*", "abo", "abonnement",
                     "abbonament*", "assinatura*", "membership*", "adhesion", "mitgliedschaft"),
    "pricing": ("pric*", "cost*", "how much", "prix", "tarif*", "combien", "precio*",
                "cuanto cuesta", "preis*", "kosten", "kostet", "prezz*", "preco*", "quote"),
    "discount": ("discount*", "promo*", "coupon*", "reduction", "remise", "descuento*",
                 "rabatt*", "sconto", "desconto"),
    "plan upgrade": ("upgrade*", "downgrade*", "change plan", "switch plan", "changer de plan",
                     "cambiar de plan", "tarif wechseln", "plan wechseln"),
    "cancellation": ("cancel*", "annul*", "resili*", "cancela*", "dar de baja", "darme de baja",
                     "kundig*", "storn*", "disdett*", "cancelament*", "non-renewal",
                     "auto-renew*", "renewal"),
    "free trial": ("free trial", "trial", "essai gratuit", "prueba gratuita", "testphase",
                   "probezeit", "prova gratuita"),
    "login": ("login", "log in", "logging in", "sign in", "signing in", "locked out",
              "connexion", "me connecter", "se connecter", "iniciar sesion", "acceder",
              "no puedo entrar", "anmeld*", "einloggen", "login*", "komme nicht rein",
              "accesso", "entrar"),
    "password reset": ("password*", "mot de passe", "contrasena*", "passwort*", "kennwort*",
                       "senha*", "reset link"),
    "account locked": ("account locked", "locked", "bloque*", "bloquead*", "gesperrt*",
                       "suspend*"),
    "two-factor authentication": ("two-factor", "2fa", "verification code*", "otp",
                                  "authenticator", "sms code*", "code de verification",
                                  "codigo de verificacion", "bestatigungscode*",
                                  "verifizierungscode*", "zwei-faktor*"),
    "delivery": ("deliver*", "shipping", "shipment*", "ship", "shipped", "parcel*", "package*",
                 "courier", "livraison*", "livre*", "colis", "transporteur", "envio*",
                 "entrega*", "paquete*", "repartidor", "lieferung*", "geliefert", "paket*",
                 "sendung*", "versand*", "zustell*", "consegna*", "spedizion*", "pacco",
                 "encomenda*"),
    "tracking": ("tracking", "track", "suivi", "seguimiento", "sendungsverfolgung",
                 "tracciamento", "rastreamento"),
    "return": ("return*", "retour*", "devolucion*", "devolver", "rucksend*", "retoure*",
               "reso", "devolucao"),
    "order": ("order", "orders", "ordered", "commande*", "pedido*", "bestellung*", "ordine*", "encomenda"),
    "damaged item": ("damaged", "broken item", "arrived broken", "endommage*", "casse*",
                     "danado*", "roto", "beschadigt*", "kaputt", "danneggiat*"),
    "missing items": ("missing item*", "missing", "manquant*", "falta*", "fehlt", "fehlend*"),
    "bug": ("bug*", "crash*", "glitch*", "broken", "freez*", "plant*", "fallo*", "se cierra",
            "absturz*", "sturzt ab", "abgesturzt"),
    "error message": ("error*", "erreur*", "fehler*", "errore*", "erro", "500", "404", "403"),
    "app update": ("update*", "mise a jour", "actualizacion*", "aktualisierung*", "version"),
    "export": ("export*", "exporter", "exportar", "exportier*", "download*", "telecharg*",
               "descarg*", "herunterlad*"),
    "import": ("import*", "importer", "importar", "importier*"),
    "pdf": ("pdf*",),
    "csv": ("csv",),
    "email change": ("change my email", "change the email", "email address*", "new email",
                     "account email", "verification email", "adresse e-mail", "adresse mail",
                     "correo electronico", "e-mail-adresse", "email-adresse"),
    "address change": ("address change", "change of address", "new address", "old address",
                       "moving", "moved", "changement d'adresse", "demenage*", "nouvelle adresse",
                       "cambio de direccion", "mudanza", "nueva direccion", "umzug", "umgezogen",
                       "neue adresse", "adressanderung", "anschrift", "trasloco", "mudanca"),
    "bank details": ("bank account", "bank details", "iban", "direct debit", "sepa",
                     "coordonnees bancaires", "rib", "cuenta bancaria", "domiciliacion",
                     "bankverbindung", "lastschrift", "konto", "conto corrente",
                     "payment method", "moyen de paiement", "metodo de pago",
                     "zahlungsmethode"),
    "name change": ("name change", "change my name", "last name", "surname", "maiden name",
                    "changement de nom", "cambio de nombre", "namensanderung", "nachname"),
    "phone number": ("phone number", "mobile number", "new number", "numero de telephone",
                     "numero de telefono", "telefonnummer", "handynummer"),
    "account holder": ("account holder", "account owner", "owner", "titulaire", "titular",
                       "kontoinhaber", "inhaber", "power of attorney", "procuration",
                       "vollmacht", "poder notarial"),
    "account security": ("hacked", "compromised", "takeover", "suspicious", "fraud*",
                         "unauthori?ed", "pirate", "hackead*", "gehackt", "betrug"),
    "account deletion": ("delete my account", "account deletion", "supprimer mon compte",
                         "eliminar mi cuenta", "konto loschen", "gdpr", "rgpd", "dsgvo"),
    "booking": ("book*", "reserv*", "appointment*", "rendez-vous", "reserva*", "cita*",
                "buchung*", "buchen", "gebucht", "termin*", "prenotazion*", "agendamento",
                "table for", "slot*", "mot"),
    "rescheduling": ("reschedul*", "move my appointment", "change my booking", "deplacer",
                     "reporter", "cambiar la cita", "verschieben", "umbuchen", "umbuchung"),
    "hotel room": ("hotel", "room*", "chambre*", "habitacion*", "zimmer"),
    "flight": ("flight*", "vol", "vuelo*", "flug*", "volo", "voo"),
    "integration": ("integration*", "integrat*", "connect*", "intégration", "integracion*",
                    "schnittstelle*", "plugin*", "zapier", "slack", "shopify", "salesforce",
                    "hubspot", "mailchimp", "google calendar", "outlook", "quickbooks"),
    "api": ("api", "endpoint*", "sdk", "rest", "graphql", "rate limit*", "429", "401",
            "pagination", "paginat*"),
    "webhook": ("webhook*",),
    "oauth": ("oauth", "refresh token", "refresh_token", "access token", "token*"),
    "sync": ("sync*", "synchron*", "sincroniz*"),
    "notifications": ("notification*", "benachrichtigung*", "notificacion*", "alert*"),
    "sso": ("sso", "saml", "single sign-on", "scim"),
    "data export": ("data export", "backup*"),
    "warranty": ("warranty", "garantie", "garantia", "gewahrleistung", "garanzia"),
    "call forwarding": ("call forwarding", "forward calls", "rufumleitung", "renvoi d'appel",
                        "desvio de llamadas"),
    "internet connection": ("internet", "wifi", "wi-fi", "router", "broadband", "connexion "
                            "internet", "fibra", "fibre", "glasfaser"),
    "router": ("router*", "port forwarding", "portweiterleitung", "portfreigabe", "modem",
               "box internet", "routeur"),
    "firmware": ("firmware",),
    "camera": ("camera*", "doorbell", "kamera*", "camara*"),
    "roaming": ("roaming", "abroad", "travel pass", "a l'etranger", "extranjero", "ausland"),
    "checkout": ("checkout", "check-out", "cart", "panier", "carrito", "warenkorb"),
    "plugin": ("plugin*", "plug-in*", "extension*", "add-on*", "woocommerce", "wordpress"),
    "mobile app": ("app", "application", "aplicacion", "appli", "anwendung"),
}
