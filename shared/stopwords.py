"""Words that never say what a conversation is about, per language (folded: lowercase, no
accents): function words, time words, politeness and chat filler. One list for everything that
names a conversation: the clusters leave these words out of embeddings and labels
(shared/clusters/embedding.py), and insights never makes a topic of them on their own
(shared/insights/local.py adds support-chat boilerplate such as "problem" there). A word of any
language counts in every conversation: a French reply quoted in an English e-mail, or a
language told wrongly, must not turn "pero" or "merci" into a topic."""

from __future__ import annotations

_BY_LANGUAGE = {
    "en": """
        a an the and or but if of to in on at for from by with about as into over under is
        are was were be been being am do does did done doing have has had having i me my
        mine we us our you your yours he him his she her it its they them their this that
        these those there here what which who whom whose how why when where can could would
        should will shall may might must not no nor so than then too very just also only
        still even again already back out up down off all any some each every more most
        other such own same both few many much one two three first last next new get got
        gets getting go going goes went make made let lets know need needs want wants like
        see look looks think say said tell told ask asked give gave take took put use used
        using try tried trying keep kept come came via per etc ll ve re don doesn didn isn
        aren wasn weren won wouldn couldn shouldn cant dont im ive id youre thats whats
        theres okay ok yes yeah yep nope sure right well oh ah um uh hmm hi hello hey dear
        thanks thank thx please pls sorry apologies apologize welcome great good nice fine
        cool awesome perfect wonderful excellent glad happy appreciate appreciated bye
        goodbye cheers regards best kind kindly sincerely lot lots bit really actually
        basically maybe anything something everything nothing someone anyone everyone thing
        things way today tomorrow yesterday tonight now later soon morning afternoon evening
        night day days week weeks month months year years hour hours minute minutes second
        seconds moment time times weekend monday tuesday wednesday thursday friday saturday
        sunday january february march april june july august september october november
        december assistant user customer agent support team help helps helped hear wait
        waiting able sounds sound mean
        """,
    "fr": """
        le la les l de des du d un une et ou est sont suis es etes etait je j tu il elle on
        nous vous ils elles me m te t se s mon ma mes ton ta tes son sa ses notre nos votre
        vos leur leurs ce c cet cette ces qui que qu quoi dont pour par avec sans sur sous
        dans en au aux pas ne n plus moins tres bien tout tous toute toutes aussi mais donc
        car si oui non merci bonjour bonsoir salut revoir madame monsieur cordialement avez
        avoir ai as a ont etre fait faire peut peux pouvez voulez veux voudrais puis y ca
        cela ceci deja encore jour jours semaine mois an ans annee heure heures aujourd hui
        demain hier matin soir temps fois desole parfait super lundi mardi mercredi jeudi
        vendredi samedi dimanche bon minute seconde moment instant week mieux
        """,
    "es": """
        el los las lo al del y e o u en con por para sin sobre que como mi mis tu tus su sus
        nuestro nuestra es son esta estan estoy estas ser estar hay muy gracias hola si pero
        porque cuando donde puede puedo puedes tengo tiene tienen le les me te se nos un una
        unos unas ya bien todo toda todos dia dias semana mes meses ano anos hora horas hoy
        manana ayer tarde noche vez veces favor perfecto claro vale buenas buenos saludos
        usted ustedes tiempo lunes martes miercoles jueves viernes sabado domingo bueno
        genial minuto segundo momento rato mejor
        """,
    "de": """
        der die das den dem des ein eine einen einem einer eines und oder aber ich du er sie
        es wir ihr ihre ihren ihnen mein meine meinen mir mich dich dir sich ist sind war
        bin bist hat habe haben hatte mit von zu zum zur auf fur im in an am bei nach aus um
        nicht kein keine danke bitte hallo ja nein auch noch schon kann konnen konnte sehr
        wie was wer wo wann warum dass so nur mal doch gibt gerne tag tage woche wochen
        monat monate jahr jahre stunde stunden heute morgen gestern abend zeit guten grussen
        freundlichen herr frau vielen dank montag dienstag mittwoch donnerstag freitag
        samstag sonntag gut tagen monaten jahren minute minuten sekunde sekunden
        augenblick wochenende uhr besser
        """,
    "it": """
        il lo la i gli le un uno una di da del della dei delle al alla nel nella con su per
        tra fra e ed o ma se che chi non piu molto anche ancora gia sono sei siamo siete ho
        hai abbiamo avete hanno mio mia miei mie tuo tua suo sua nostro nostra vostro questo
        questa quello quella ci vi mi ti si come quando dove perche cosa grazie ciao
        buongiorno buonasera prego salve scusi scusa tempo giorno giorni settimana mese mesi
        anno anni ora ore oggi ieri domani sera mattina volta volte lunedi martedi mercoledi
        giovedi venerdi sabato domenica cordiali saluti gentile settimane minuto minuti
        secondo secondi momento attimo meglio
        """,
    "pt": """
        o os a as um uns uma umas de do da dos das em no na nos nas ao aos com por para pelo
        pela sem sobre e ou mas se que quem nao sim mais muito tambem ainda ja sou esta
        estou estamos sao tenho tem temos meu minha meus minhas seu sua seus suas nosso
        nossa este isso isto aquele aquela eu voce voces ele ela eles elas me te lhe como
        quando onde porque obrigado obrigada ola oi bom dia boa tarde noite tempo dias
        semana semanas mes meses ano anos hora horas hoje ontem amanha vez vezes segunda
        terca quarta quinta sexta sabado domingo atenciosamente favor minuto segundo
        momento melhor
        """,
}
STOP_WORDS = frozenset(word for words in _BY_LANGUAGE.values() for word in words.split())
