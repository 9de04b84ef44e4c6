"""The EPN's lending terms, one text per language: shown and accepted at the first loan,
printed for a signature. A built-in text serves until staff write their own."""

from __future__ import annotations

from datetime import datetime

from appliance.config import VISITOR_LANGUAGES
from appliance.errors import N_, InvalidInput
from appliance.models import LendingTerms, StaffUser

MAX_LENGTH = 6000
DEFAULT_TERMS = {
    "fr": (
        "Conditions de prêt du matériel\n"
        "1. Le matériel reste la propriété de l'EPN (ou de la Région). Je le rapporte complet "
        "(chargeur, housse, accessoires) à la date prévue.\n"
        "2. Je prends soin du matériel et je ne le prête à personne.\n"
        "3. En cas de perte, de vol ou de panne, je préviens l'EPN au plus vite.\n"
        "4. Au retour, l'appareil est remis à zéro : mes fichiers et mes comptes sont effacés. "
        "Je garde moi-même une copie de ce dont j'ai besoin.\n"
        "5. L'EPN garde mon nom et le lien avec ce prêt pendant 30 jours après le retour, puis "
        "ce lien est effacé. Je peux demander à voir ou à effacer mes données."
    ),
    "nl": (
        "Voorwaarden voor het lenen van materiaal\n"
        "1. Het materiaal blijft eigendom van de EPN (of het Gewest). Ik breng het volledig terug "
        "(lader, hoes, toebehoren) op de afgesproken datum.\n"
        "2. Ik ga zorgvuldig om met het materiaal en leen het aan niemand uit.\n"
        "3. Bij verlies, diefstal of defect verwittig ik de EPN zo snel mogelijk.\n"
        "4. Bij de terugkeer wordt het toestel gewist: mijn bestanden en accounts verdwijnen. "
        "Ik bewaar zelf een kopie van wat ik nodig heb.\n"
        "5. De EPN bewaart mijn naam en de link met deze lening 30 dagen na de terugkeer; daarna "
        "wordt die link gewist. Ik mag mijn gegevens inkijken of laten wissen."
    ),
    "en": (
        "Terms for borrowing equipment\n"
        "1. The equipment remains the property of the EPN (or the Region). I bring it back complete "
        "(charger, sleeve, accessories) on the agreed date.\n"
        "2. I take care of the equipment and lend it to nobody.\n"
        "3. If it is lost, stolen or broken, I tell the EPN as soon as possible.\n"
        "4. When it comes back, the device is reset: my files and accounts are erased. "
        "I keep my own copy of what I need.\n"
        "5. The EPN keeps my name and its link with this loan for 30 days after the return, then "
        "the link is erased. I may ask to see or erase my data."
    ),
}


def terms_text(language: str) -> str:
    """The terms in `language`: the EPN's own text, else the built-in one (French when
    there is none in that language)."""
    row = LendingTerms.get_or_none(LendingTerms.language == language)
    if row is not None:
        return row.text
    return DEFAULT_TERMS.get(language) or DEFAULT_TERMS["fr"]


def terms_language(language: str) -> str:
    """The language `terms_text(language)` is actually written in."""
    return language if is_custom(language) or language in DEFAULT_TERMS else "fr"


def is_custom(language: str) -> bool:
    return LendingTerms.select().where(LendingTerms.language == language).exists()


def save_terms(language: str, text: str, staff: StaffUser | None, now: datetime) -> None:
    """Replace the terms of one language; an empty text goes back to the built-in one."""
    if language not in VISITOR_LANGUAGES:
        raise InvalidInput("language", N_("Choose a language from the list."))
    text = text.strip().replace("\r\n", "\n")
    if len(text) > MAX_LENGTH:
        raise InvalidInput("text", N_("At most %(n)s characters."), n=MAX_LENGTH)
    LendingTerms.delete().where(LendingTerms.language == language).execute()
    if text:
        LendingTerms.create(language=language, text=text, updated_at=now, updated_by=staff)
