"""Finding a member as staff type them: "lopez" finds Ana López, "(555) 010-9999" finds +1 555 010 9999.

Each member keeps ``search_text`` (``loyalty.models.member``): names, email
and external id folded (lower case, accents off) and the phone's digits.
"""

from sqlalchemy import and_, or_, select

from loyalty.models import Member
from loyalty.models.member import digits, fold


def matching(query: str):
    """Members whose id is ``query``, or whose words hold every word of it, or, typed as a phone number
    any way, whose phone's digits hold its digits."""
    alternatives = [Member.id == query.strip()]
    words = fold(query).split()
    if words:
        alternatives.append(and_(*(Member.search_text.contains(word, autoescape=True) for word in words)))
    phone = digits(query)
    if len(phone) >= 4:
        alternatives.append(Member.search_text.contains(phone, autoescape=True))
    return select(Member).where(or_(*alternatives))
